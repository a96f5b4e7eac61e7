"""Model calls that never crash a turn on a bad answer: retry, then fall back and say so.

The two retry loops of a model call live one layer apart: here, the bad-answer loop (an
unparseable or empty answer is asked again `structured_retries` times, then replaced by a
fallback that the node's report records); in `emostage.models.invoke`, the transient-fault
loop (a refused connection, a 5xx, a timeout: retried with backoff while the turn has
time). A server fault is never a bad answer, and a bad answer never a server fault.

The functions here are generators that yield each `ModelCall`
(`result = yield from text_call(...)`), so that the same code runs blocking or on an event
loop (`emostage.models.invoke.run_sync`, `run_async`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ValidationError

from emostage.errors import EmoStageError, ModelUnavailableError, OutputCapError
from emostage.models.invoke import Asking, CallPolicy, ModelCall
from emostage.state import NodeReport
from emostage.streaming import StreamCleaner, clean_reply

SchemaT = TypeVar("SchemaT", bound=BaseModel)
_BAD_ANSWER = (OutputParserException, ValidationError, ValueError)


@dataclass
class NodeRun:
    """Bookkeeping of one node run, turned into a `NodeReport` at the end."""

    node: str
    turn: int
    model_calls: int = 0
    fallback: str | None = None
    skipped: bool = False
    started: float = field(default_factory=time.perf_counter)

    def report(self) -> dict[str, NodeReport]:
        """The state update that records this run."""
        elapsed_ms = (time.perf_counter() - self.started) * 1000
        report = NodeReport(
            node=self.node,
            turn=self.turn,
            latency_ms=round(elapsed_ms, 2),
            model_calls=self.model_calls,
            fallback=self.fallback,
            skipped=self.skipped,
        )
        return {self.node: report}


def structured_call(
    run: NodeRun,
    structured: Runnable[Any, Any] | None,
    schema: type[SchemaT],
    messages: Sequence[BaseMessage],
    *,
    policy: CallPolicy,
    default: SchemaT,
) -> Asking[SchemaT]:
    """Ask for `schema`; after `policy.bad_answer_retries` more bad answers, `default`.

    An unavailable model also yields `default`: the analysis never stops a turn, so a
    crisis turn can still be answered. A drafting call then reports the outage. So does a
    chat model with no structured output (`structured` is None).
    """
    if structured is None:
        run.fallback = "the chat model has no structured output: analysis skipped"
        return default
    try:
        answer = yield from ask_structured(structured, schema, messages, policy)
    except ModelUnavailableError as exc:
        run.model_calls += 1
        run.fallback = f"model unavailable ({type(exc).__name__})"
        return default
    run.model_calls += answer.calls
    if answer.parsed is not None:
        return answer.parsed
    run.fallback = answer.problem
    return default


@dataclass(frozen=True)
class StructuredAnswer(Generic[SchemaT]):
    """A structured answer, or why there is none; and how many calls it took."""

    parsed: SchemaT | None
    calls: int
    problem: str = ""


def ask_structured(
    structured: Runnable[Any, Any],
    schema: type[SchemaT],
    messages: Sequence[BaseMessage],
    policy: CallPolicy,
) -> Asking[StructuredAnswer[SchemaT]]:
    """Ask for `schema`, retrying bad answers `policy.bad_answer_retries` times.

    `structured` is a model's `with_structured_output(schema, include_raw=True)`.

    Raises:
        ModelUnavailableError: the server is down or refuses (after transient retries).
    """
    problem = ""
    for calls in range(1, policy.bad_answer_retries + 2):
        try:
            result: Any = yield ModelCall(structured, messages, policy)
        except OutputCapError as exc:  # an EmoStageError that is a bad answer
            problem = str(exc)
            continue
        except EmoStageError:  # a ValueError too, but not a bad answer
            raise
        except _BAD_ANSWER as exc:
            problem = type(exc).__name__
            continue
        parsed = result.get("parsed") if isinstance(result, dict) else result
        if isinstance(parsed, schema):
            return StructuredAnswer(parsed, calls)
        problem = type(result.get("parsing_error")).__name__ if isinstance(result, dict) else "?"
    # The reason names the error class only: the raw answer may quote the client.
    return StructuredAnswer(
        None, calls, f"unparseable {schema.__name__} after {calls} call(s): {problem}"
    )


def text_call(
    run: NodeRun,
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    *,
    policy: CallPolicy,
    labels: Sequence[str],
    fallback: str,
    stream: StreamCleaner | None = None,
) -> Asking[str]:
    """Ask for a chat message; after `policy.bad_answer_retries` more bad ones, `fallback`.

    With `stream`, the answer is cleaned and shown as it is written; the text returned is
    what it showed. (A fallback is not shown here: the node settles what was shown.)
    """
    problem = "empty reply"
    for _ in range(policy.bad_answer_retries + 1):
        run.model_calls += 1
        try:
            answer = yield ModelCall(model, messages, policy, stream)
        except OutputCapError as exc:  # an EmoStageError that is a bad answer
            problem = str(exc)
            continue
        except EmoStageError:  # a ValueError too, but not a bad answer
            raise
        except _BAD_ANSWER as exc:
            problem = f"unreadable reply ({type(exc).__name__})"
            continue
        if text := (stream.finish() if stream else clean_reply(answer.text, labels)):
            return text
    run.fallback = f"{problem} after {run.model_calls} call(s)"
    return fallback
