"""Model calls that never crash a turn on a bad answer: retry, then fall back and say so."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Generic, Literal, TypeVar

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable
from langgraph.constants import TAG_NOSTREAM
from pydantic import BaseModel, ValidationError, create_model
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from emostage.context import Context
from emostage.errors import EmoStageError, ModelUnavailableError, TransientModelError
from emostage.llm import server_error
from emostage.state import NodeReport, PhaseAssessment

SchemaT = TypeVar("SchemaT", bound=BaseModel)
_BAD_ANSWER = (OutputParserException, ValidationError, ValueError)
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_QUOTES = ('"', "'", "「", "」", "“", "”", "『", "』")


@dataclass(frozen=True)
class CallPolicy:
    """How hard to try: retries of a bad answer, attempts at a transient server fault."""

    bad_answer_retries: int = 1
    attempts: int = 3

    @classmethod
    def of(cls, context: Context) -> CallPolicy:
        """The policy a turn's settings ask for."""
        return cls(context.structured_retries, context.model_attempts)


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


@contextmanager
def model_errors() -> Iterator[None]:
    """Turn a backend's transport and server failures into `ModelUnavailableError`.

    They are not bad answers: asking again at once would not fix them.
    """
    try:
        yield
    except EmoStageError:
        raise
    except Exception as exc:
        if error := server_error(exc):
            raise error from exc
        raise


def invoke_reliably(
    model: Runnable[Any, Any], messages: Sequence[BaseMessage], attempts: int
) -> Any:
    """Invoke, retrying transient server faults with jittered exponential backoff.

    A turn's wait is bounded: at most `attempts` calls, each under the HTTP timeout, with
    at most 0.5 + 1 + 2 + ... (capped at 4) seconds of backoff between them.
    """
    retrying = Retrying(
        retry=retry_if_exception_type(TransientModelError),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=0.5, max=4, jitter=0.25),
        reraise=True,
    )
    for attempt in retrying:
        with attempt, model_errors():
            # Untagged, LangGraph's `messages` stream would show raw model output, JSON and
            # unfinished drafts included; clients read the final reply (nodes/deliver_reply.py).
            return model.invoke(list(messages), config={"tags": [TAG_NOSTREAM]})
    raise AssertionError("unreachable: tenacity re-raises the last error")


def structured_call(
    run: NodeRun,
    structured: Runnable[Any, Any],
    schema: type[SchemaT],
    messages: Sequence[BaseMessage],
    *,
    policy: CallPolicy,
    default: SchemaT,
) -> SchemaT:
    """Ask for `schema`; after `policy.bad_answer_retries` more bad answers, `default`.

    An unavailable model also yields `default`: the analysis never stops a turn, so a
    crisis turn can still be answered. A drafting call then reports the outage.
    """
    try:
        answer = ask_structured(structured, schema, messages, policy)
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
) -> StructuredAnswer[SchemaT]:
    """Ask for `schema`, retrying bad answers `policy.bad_answer_retries` times.

    `structured` is a model's `with_structured_output(schema, include_raw=True)`.

    Raises:
        ModelUnavailableError: the server is down or refuses (after transient retries).
    """
    problem = ""
    for calls in range(1, policy.bad_answer_retries + 2):
        try:
            result: Any = invoke_reliably(structured, messages, policy.attempts)
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
) -> str:
    """Ask for a chat message; after `policy.bad_answer_retries` more bad ones, `fallback`."""
    problem = "empty reply"
    for _ in range(policy.bad_answer_retries + 1):
        run.model_calls += 1
        try:
            answer = invoke_reliably(model, messages, policy.attempts)
        except _BAD_ANSWER as exc:
            problem = f"unreadable reply ({type(exc).__name__})"
            continue
        if text := clean_reply(answer.text, labels):
            return text
    run.fallback = f"{problem} after {run.model_calls} call(s)"
    return fallback


def clean_reply(text: str, labels: Sequence[str]) -> str:
    """Strip what models wrap around a chat message: thinking, a speaker label, quotes."""
    text = _THINK.sub("", text).strip()
    for label in labels:
        for colon in (":", "："):
            if text.startswith(label + colon):
                text = text[len(label) + 1 :].strip()
    if len(text) > 1 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


@cache
def phase_schema(phase_ids: tuple[str, ...]) -> type[PhaseAssessment]:
    """A `PhaseAssessment` whose `phase` is constrained to the taxonomy's ids.

    The enum reaches the model as a JSON schema, so a grammar-constrained server can only
    answer with a valid id.
    """
    choice: Any = Literal[phase_ids]  # dynamic Literal: the taxonomy is data
    return create_model("PhaseAssessment", __base__=PhaseAssessment, phase=(choice, ...))
