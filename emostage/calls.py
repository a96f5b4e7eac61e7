"""Model calls that never crash a turn on a bad answer: retry, then fall back and say so."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, TypeVar

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from pydantic import BaseModel, ValidationError, create_model

from emostage.errors import EmoStageError
from emostage.llm import server_error
from emostage.state import NodeReport, PhaseAssessment

SchemaT = TypeVar("SchemaT", bound=BaseModel)
_BAD_ANSWER = (OutputParserException, ValidationError, ValueError)
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_QUOTES = ('"', "'", "「", "」", "“", "”", "『", "』")


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

    They are not bad answers: retrying the same call would not fix them.
    """
    try:
        yield
    except EmoStageError:
        raise
    except Exception as exc:
        if error := server_error(exc):
            raise error from exc
        raise


def structured_call(
    run: NodeRun,
    model: BaseChatModel,
    schema: type[SchemaT],
    messages: Sequence[BaseMessage],
    *,
    retries: int,
    default: SchemaT,
) -> SchemaT:
    """Ask for `schema`; after `retries` more unparseable answers, return `default`."""
    structured = model.with_structured_output(schema, include_raw=True)
    problem = ""
    for _ in range(retries + 1):
        run.model_calls += 1
        try:
            with model_errors():
                result: Any = structured.invoke(list(messages))
        except _BAD_ANSWER as exc:
            problem = type(exc).__name__
            continue
        parsed = result.get("parsed") if isinstance(result, dict) else result
        if isinstance(parsed, schema):
            return parsed
        problem = type(result.get("parsing_error")).__name__ if isinstance(result, dict) else "?"
    # The reason names the error class only: the raw answer may quote the client.
    run.fallback = f"unparseable {schema.__name__} after {run.model_calls} call(s): {problem}"
    return default


def text_call(
    run: NodeRun,
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    *,
    labels: Sequence[str],
    fallback: str,
    retries: int = 1,
) -> str:
    """Ask for a chat message; after `retries` more empty or unreadable answers, `fallback`."""
    problem = "empty reply"
    for _ in range(retries + 1):
        run.model_calls += 1
        try:
            with model_errors():
                answer = model.invoke(list(messages))
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
