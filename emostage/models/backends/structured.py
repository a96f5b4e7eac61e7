"""Structured output from a JSON text answer, for models that take a JSON schema per call.

Models built on `SchemaGuidedChatModel` accept `json_schema=` as a call option (llama.cpp
turns it into a grammar); `parse_structured` gives any such answer the shape that
`with_structured_output` promises.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig, RunnableSerializable
from pydantic import BaseModel, ConfigDict, ValidationError

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def parse_json_lenient(text: str) -> Any:
    """Parse a model's JSON answer, tolerating a code fence and raw newlines in strings.

    Raises:
        ValueError: the text is not JSON.
    """
    text = text.strip()
    if fenced := _FENCE.match(text):
        text = fenced.group(1)
    return json.loads(text, strict=False)  # llama.cpp's JSON grammar lets raw newlines in


def parse_structured(
    model: Runnable[LanguageModelInput, Any], schema: type[BaseModel], *, include_raw: bool
) -> Runnable[LanguageModelInput, Any]:
    """Call `model`, then parse its text answer into `schema` leniently."""
    return _ParsedAnswer(model=model, schema_type=schema, include_raw=include_raw)


class _ParsedAnswer(RunnableSerializable[LanguageModelInput, Any]):
    """`model`, then lenient JSON parsing into `schema`.

    A plain Runnable rather than a `RunnableLambda`, which inspects its function's
    signature on every call: a measurable share of a turn's framework time.
    """

    model: Runnable[LanguageModelInput, Any]
    schema_type: type[BaseModel]
    include_raw: bool

    model_config = ConfigDict(arbitrary_types_allowed=True)

    def invoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        """Answer, then parse; with `include_raw`, parsing errors are returned, not raised."""
        return self._parsed(self.model.invoke(input, config))

    async def ainvoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        """`invoke`, awaiting the model on the event loop."""
        return self._parsed(await self.model.ainvoke(input, config))

    def _parsed(self, raw: Any) -> Any:
        parsed: BaseModel | None = None
        error: Exception | None = None
        try:
            parsed = self.schema_type.model_validate(parse_json_lenient(raw.text))
        except (ValueError, ValidationError) as exc:
            error = exc
        if self.include_raw:
            return {"raw": raw, "parsed": parsed, "parsing_error": error}
        if error:
            raise error
        return parsed


class SchemaGuidedChatModel(BaseChatModel):
    """A chat model whose structured output is a JSON-schema-constrained text answer."""

    def with_structured_output(  # type: ignore[override]
        self, schema: type[BaseModel], *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, Any]:
        """Answer with JSON for `schema`, parsed into it; see `BaseChatModel`."""
        bound = self.bind(json_schema=schema.model_json_schema())
        return parse_structured(bound, schema, include_raw=include_raw)

    def _result(self, text: str, usage: UsageMetadata) -> ChatResult:
        """A whole answer, named by model: LangChain's usage callbacks key on `model_name`."""
        name = str(getattr(self, "model", self._llm_type))
        message = AIMessage(text, usage_metadata=usage, response_metadata={"model_name": name})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _counted(self, usage: UsageMetadata) -> ChatGenerationChunk:
        """The last chunk of a streamed answer: no text, its token counts, named by model."""
        name = str(getattr(self, "model", self._llm_type))
        message = AIMessageChunk(
            content="", usage_metadata=usage, response_metadata={"model_name": name}
        )
        return ChatGenerationChunk(message=message)

    @staticmethod
    def _token(text: str, run_manager: CallbackManagerForLLMRun | None) -> ChatGenerationChunk:
        """A streamed piece of text, announced to callbacks so graph streaming sees it."""
        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
        if run_manager:
            run_manager.on_llm_new_token(text, chunk=chunk)
        return chunk
