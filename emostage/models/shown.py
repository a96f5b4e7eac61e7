"""The drafting call as LangGraph's `messages` stream sees it: the reply as it is shown.

Every model call runs tagged `nostream`: raw model output (analysis JSON, labels,
thinking, an answer about to be retried) never reaches a client. A draft that is shown as
it is written runs inside `ShownReply`, a chat model that is streamed untagged and yields
only the clean chunks the client is shown (`emostage.streaming.StreamCleaner`), under the
id of the reply message that `deliver_reply` stores; `show_more` adds what is shown after
the model has ended (the last sentence, a fallback, the crisis resources). A chat front
end on LangGraph Server (agent-chat-ui) thus draws the reply as it is written, and the
stored message, arriving in the state under the same id, settles it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Protocol

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langgraph.constants import TAG_NOSTREAM
from pydantic import ConfigDict


class TextSink(Protocol):
    """Where a streamed answer goes as it is written (`emostage.streaming.StreamCleaner`)."""

    message_id: str

    @property
    def raw(self) -> str:
        """The answer so far, as written."""

    def feed(self, piece: str) -> None:
        """Take the next piece of the answer."""

    def restart(self) -> None:
        """A new attempt begins: forget the pieces so far."""

    def take_fresh(self) -> list[str]:
        """Text appended to the shown reply since the last call."""


class _StreamedOnly(BaseChatModel):
    """A chat model that is only ever streamed, under one message id."""

    message_id: str

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        raise NotImplementedError(f"{type(self).__name__} is only streamed")

    def _chunk(self, text: str, *, last: bool = False) -> ChatGenerationChunk:
        """A chunk of the reply message; the last one marked as the last.

        Marked, so that LangChain adds no empty chunk under an id of its own: that would
        reach `messages` clients as a stray message.
        """
        message = AIMessageChunk(
            content=text, id=self.message_id, chunk_position="last" if last else None
        )
        return ChatGenerationChunk(message=message)


class _HeldBack:
    """Yields a stream's chunks one behind, so that the last can be marked as the last."""

    def __init__(self, model: _StreamedOnly) -> None:
        self.model = model
        self.held: ChatGenerationChunk | None = None

    def push(self, chunks: Iterator[ChatGenerationChunk]) -> Iterator[ChatGenerationChunk]:
        """Hold the newest of `chunks`; yield the one held before each."""
        for chunk in chunks:
            if self.held is not None:
                yield self.held
            self.held = chunk

    def flush(self) -> Iterator[ChatGenerationChunk]:
        """The chunk held, unmarked (the stream failed: what was shown still counts)."""
        if self.held is not None:
            yield self.held

    def last(self) -> ChatGenerationChunk:
        """The chunk held, marked as the last (an empty one if none: a stream yields one)."""
        text = self.held.message.text if self.held is not None else ""
        return self.model._chunk(text, last=True)


class ShownReply(_StreamedOnly):
    """`inner`'s answer, streamed as the clean chunks shown of it (see the module doc).

    Attributes:
        inner: The drafting model, called tagged `nostream`.
        feed: Takes each piece of `inner`'s answer (into the sink).
        sink: Tells what the client was shown since the last piece.
    """

    inner: BaseChatModel
    feed: Callable[[str], None]
    sink: Any
    model_config = ConfigDict(arbitrary_types_allowed=True)

    @property
    def _llm_type(self) -> str:
        return "emostage-shown-reply"

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        held = _HeldBack(self)
        try:
            for chunk in self.inner.stream(messages, config=_untagged_child(run_manager)):
                yield from held.push(self._shown(chunk.text))
        except Exception:  # not on a close or a cancellation: nobody reads on
            yield from held.flush()
            raise
        yield held.last()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        held = _HeldBack(self)
        try:
            async for chunk in self.inner.astream(messages, config=_untagged_child(run_manager)):
                for shown in held.push(self._shown(chunk.text)):
                    yield shown
        except Exception:
            for shown in held.flush():
                yield shown
            raise
        yield held.last()

    def _shown(self, piece: str) -> Iterator[ChatGenerationChunk]:
        """Feed one piece of the answer; yield the chunks it made shown.

        LangChain announces each to the callbacks, and so to LangGraph's `messages` stream.
        """
        self.feed(piece)
        for text in self.sink.take_fresh():
            yield self._chunk(text)


class ShownText(_StreamedOnly):
    """Text shown of a reply after its model has ended, under the reply's message id."""

    texts: list[str]

    @property
    def _llm_type(self) -> str:
        return "emostage-shown-text"

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for index, text in enumerate(self.texts, 1):
            yield self._chunk(text, last=index == len(self.texts))


def show_more(texts: list[str], message_id: str) -> None:
    """Send `texts` to `messages` clients as more of the reply `message_id`."""
    if texts:
        for _ in ShownText(texts=texts, message_id=message_id).stream([]):
            pass


def _untagged_child(run_manager: Any) -> Any:
    """The inner call's config: tagged `nostream`, under this run's callbacks."""
    callbacks = run_manager.get_child() if run_manager is not None else None
    return {"tags": [TAG_NOSTREAM], "callbacks": callbacks}
