"""The drafting call as LangGraph's `messages` stream sees it: the reply as it is shown.

Every model call runs tagged `nostream`: raw model output (analysis JSON, labels,
thinking, an answer about to be retried) never reaches a client. A draft that is shown as
it is written runs inside `ShownReply`, a chat model that is streamed untagged and yields
only the clean chunks the client is shown (`emostage.streaming.StreamCleaner`), under the
id of the reply message that `deliver_reply` stores. A chat front end on LangGraph Server
(agent-chat-ui) thus draws the reply as it is written, and the stored message, arriving
in the state under the same id, settles it: a replacement is the stored text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Protocol

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langgraph.constants import TAG_NOSTREAM
from pydantic import ConfigDict


class ShownSink(Protocol):
    """What `ShownReply` reads of the reply's sink."""

    message_id: str

    def take_fresh(self) -> list[str]:
        """Text appended to the shown reply since the last call."""

    def finish(self) -> str:
        """Show the rest of the answer; return it whole, cleaned."""


class ShownReply(BaseChatModel):
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

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        raise NotImplementedError("ShownReply is only streamed")

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        config: Any = {"tags": [TAG_NOSTREAM], "callbacks": _children(run_manager)}
        held = None
        for chunk in self.inner.stream(messages, config=config):
            for shown in self._shown(chunk.text):
                if held is not None:
                    yield held
                held = shown
        for shown in self._shown(None):
            if held is not None:
                yield held
            held = shown
        yield self._last(held)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        config: Any = {"tags": [TAG_NOSTREAM], "callbacks": _children(run_manager)}
        held = None
        async for chunk in self.inner.astream(messages, config=config):
            for shown in self._shown(chunk.text):
                if held is not None:
                    yield held
                held = shown
        for shown in self._shown(None):
            if held is not None:
                yield held
            held = shown
        yield self._last(held)

    def _shown(self, piece: str | None) -> Iterator[ChatGenerationChunk]:
        """Feed one piece of the answer (None: it ended); the chunks shown, as message chunks.

        LangChain announces each to the callbacks, and so to LangGraph's `messages` stream.
        """
        if piece is None:
            self.sink.finish()  # the last sentence; asking again later shows nothing more
        else:
            self.feed(piece)
        for text in self.sink.take_fresh():
            yield ChatGenerationChunk(message=AIMessageChunk(content=text, id=self.sink.message_id))

    def _last(self, chunk: ChatGenerationChunk | None) -> ChatGenerationChunk:
        """The stream's last chunk (empty if nothing was shown yet), marked so.

        Marked, LangChain adds no empty last chunk under an id of its own; and a stream
        must yield at least one chunk.
        """
        text = chunk.message.text if chunk is not None else ""
        return ChatGenerationChunk(
            message=AIMessageChunk(content=text, id=self.sink.message_id, chunk_position="last")
        )


class ShownText(BaseChatModel):
    """Text EmoStage adds to a reply already shown: the crisis resources.

    Streamed under the reply's message id, so that a `messages` client appends it too.
    """

    texts: list[str]
    message_id: str

    @property
    def _llm_type(self) -> str:
        return "emostage-shown-text"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        raise NotImplementedError("ShownText is only streamed")

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for index, text in enumerate(self.texts):
            last = "last" if index == len(self.texts) - 1 else None
            message = AIMessageChunk(content=text, id=self.message_id, chunk_position=last)
            yield ChatGenerationChunk(message=message)


def show_more(texts: list[str], message_id: str) -> None:
    """Send `texts` to `messages` clients as more of the reply `message_id`."""
    if texts:
        for _ in ShownText(texts=texts, message_id=message_id).stream([]):
            pass


def _children(run_manager: Any) -> Sequence[Any] | Any:
    """The callbacks the inner call inherits (None without a run manager)."""
    return run_manager.get_child() if run_manager is not None else None
