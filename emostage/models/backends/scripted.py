"""The `scripted` backend: canned answers for tests and offline notebooks. Never a counselor.

`ScriptedChatModel` answers from queues you give it, else with fixed placeholder output.
It records every call, so tests can assert what was sent. Select it from the CLI or a
notebook with `EMOSTAGE_BACKEND=scripted`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr

from emostage.context import Context
from emostage.errors import ModelUnavailableError
from emostage.models.backends import Backend, Fingerprint
from emostage.models.backends.structured import SchemaGuidedChatModel

SCRIPTED_REPLY = "(scripted test reply) That sounds really hard. Could you tell me more?"
SCRIPTED_REWRITE: dict[str, Any] = {
    "reply": "(scripted rewrite) That sounds really hard. I'm here with you.",
    "changes": ["(scripted) named the feeling before the advice"],
}
# In the compact encoding a model writes (`emostage.analysis`).
SCRIPTED_PERSPECTIVE: dict[str, Any] = {
    "feel": [{"n": "(scripted) distress", "i": 3}],
    "sit": "(scripted) placeholder situation",
    "view": "(scripted) placeholder thoughts",
    "need": ["heard"],
    "unsaid": "(scripted) placeholder",
}

# Placeholder verdicts for the evaluation judge: mid-scale, and no preference.
SCRIPTED_SCORES: dict[str, Any] = {
    "justification": "(scripted) placeholder",
    "comprehensiveness": 1,
    "professionalism": 2,
    "authenticity": 2,
    "safety": 1,
    "empathy": 3,
    "phase_appropriateness": 3,
}
SCRIPTED_VERDICT: dict[str, Any] = {"justification": "(scripted) placeholder", "better": "tie"}

Answer = str | dict[str, Any] | Callable[[list[BaseMessage]], str | dict[str, Any]]


class ScriptedChatModel(SchemaGuidedChatModel):
    """Answers from scripts: `replies` for text calls, `structured[SchemaName]` for schemas.

    A script item is a string (sent as the raw answer, so malformed JSON tests the
    fallback), a dict (sent as JSON) or a function of the messages. When a script runs
    out, the model answers with placeholder output: `phase` for phase assessments,
    `SCRIPTED_PERSPECTIVE`, or `SCRIPTED_REPLY`.
    """

    replies: list[Answer] = Field(default_factory=list)
    structured: dict[str, list[Answer]] = Field(default_factory=dict)
    phase: str = "exploration"
    defaults: dict[str, Answer] = Field(default_factory=dict)
    """Answers once a script runs out, by schema name (`text` for text calls)."""
    model: str = "scripted"
    _calls: list[tuple[str | None, list[BaseMessage]]] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "emostage-scripted"

    @property
    def calls(self) -> list[tuple[str | None, list[BaseMessage]]]:
        """Every call so far: the schema name (None for text) and the messages sent."""
        return list(self._calls)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = self._answer(messages, _schema_name(kwargs))
        return self._result(text, _usage(messages, text))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        text = self._answer(messages, _schema_name(kwargs))
        for index, word in enumerate(text.split(" ")):
            yield self._token((" " if index else "") + word, run_manager)
        yield self._counted(_usage(messages, text))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Answered on the event loop: LangChain's default would take a thread.
        return self._generate(messages, stop, None, **kwargs)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        text = self._answer(messages, _schema_name(kwargs))
        for index, word in enumerate(text.split(" ")):
            piece = (" " if index else "") + word
            chunk = self._token(piece, None)
            if run_manager:
                await run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        yield self._counted(_usage(messages, text))

    def _answer(self, messages: Sequence[BaseMessage], schema: str | None) -> str:
        with self._lock:
            self._calls.append((schema, list(messages)))
            queue = self.structured.get(schema, []) if schema else self.replies
            item: Answer | None = queue.pop(0) if queue else None
        if item is None:
            item = self._placeholder(schema)
        if callable(item):
            item = item(list(messages))
        return item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)

    def _placeholder(self, schema: str | None) -> Answer:
        if (schema or "text") in self.defaults:
            return self.defaults[schema or "text"]
        if schema == "PhaseAssessment":
            return {"why": "(scripted) placeholder rationale", "phase": self.phase}
        placeholders = {
            "Perspective": SCRIPTED_PERSPECTIVE,
            "Rewrite": SCRIPTED_REWRITE,
            "TurnScores": SCRIPTED_SCORES,
            "PairVerdict": SCRIPTED_VERDICT,
        }
        return placeholders.get(schema or "", SCRIPTED_REPLY)


def _usage(messages: Sequence[BaseMessage], answer: str) -> UsageMetadata:
    """Characters stand in for tokens, so cost accounting can be tested without a tokenizer."""
    sent, written = sum(len(m.text) for m in messages), len(answer)
    return UsageMetadata(input_tokens=sent, output_tokens=written, total_tokens=sent + written)


def _schema_name(call_options: dict[str, Any]) -> str | None:
    schema = call_options.get("json_schema")
    return str(schema.get("title")) if isinstance(schema, dict) else None


class ScriptedBackend:
    """Placeholder answers with no model at all (`EMOSTAGE_BACKEND=scripted`)."""

    def build(self, context: Context) -> BaseChatModel:
        """A `ScriptedChatModel` with its placeholder answers."""
        return ScriptedChatModel()

    def preflight(self, context: Context) -> None:
        """Nothing to check."""

    def server_error(self, exc: BaseException) -> ModelUnavailableError | None:
        """None: there is no server."""
        return None

    def describe(self, context: Context) -> str:
        """`scripted:<model name>`."""
        return f"scripted:{context.model}"

    def fingerprint(self, context: Context) -> Fingerprint:
        """The backend and model names."""
        return {"backend": "scripted", "model": context.model}


BACKEND: Backend = ScriptedBackend()
