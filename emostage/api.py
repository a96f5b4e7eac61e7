"""The Python API: `EmoStage(...).respond(dialogue) -> Reply`.

`EmoStage` builds its graph once; each entry point only turns its arguments into a
`run.Run` (the payload, the thread, the turn's settings) and hands it to the one runner
(`run.run_turn`, or `run.arun_turn` on the event loop).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver

from emostage.audience import Audience
from emostage.context import Context
from emostage.conversation import (
    Turn,
    counselor_draft,
    dialogue_turns,
    require_client_last,
)
from emostage.errors import ConfigError
from emostage.graph import AnalysisLayout, build_graph
from emostage.models.source import describe_model, preflight, resolve_backend
from emostage.prompts.phases import Taxonomy
from emostage.review import ReviewPolicy, ReviewRequest
from emostage.run import (
    OnStage,
    OnText,
    Run,
    arun_turn,
    astream_turn,
    pending_request,
    reply_of,
    review_payload,
    run_turn,
    stream_turn,
)
from emostage.safety.guard import guard_adapter
from emostage.safety.resources import check_locale
from emostage.sessions import open_store, thread_config
from emostage.state import InputState, Reply
from emostage.streaming import ReplyDelta

DialogueLike = Sequence[Turn | Mapping[str, Any]] | Mapping[str, Any]


class EmoStage:
    """Writes the next counselor turn of a counseling chat.

    Example:
        >>> stage = EmoStage(model="qwen2.5:7b")  # doctest: +SKIP
        >>> stage.respond([{"role": "client", "content": "I can't sleep."}]).response
    """

    def __init__(
        self,
        chat_model: BaseChatModel | None = None,
        *,
        taxonomy: Taxonomy | str | Path = "ivey",
        checkpointer: BaseCheckpointSaver[str] | None = None,
        store: str | Path | None = None,
        analysis: AnalysisLayout = "parallel",
        review: ReviewPolicy = "off",
        audience: Audience = "counselor",
        **settings: Any,
    ) -> None:
        """Build the pipeline.

        Args:
            chat_model: Any LangChain chat model; default: built from the settings (Ollama).
            taxonomy: A `Taxonomy`, `ivey`, `hill` or a YAML/JSON file.
            checkpointer: Keeps threads for `respond(..., thread_id=...)`.
            store: Or: keep threads in a session store, `postgresql://...` (many processes
                and machines; the `postgres` extra) or a SQLite file path. Turns of one
                thread then run one at a time, across processes. The store is opened
                here; `close()` it, or use the object as a context manager.
            analysis: `parallel` (default) or the paper's `sequential` layout (see `build_graph`).
            review: `crisis` or `always`: a person approves, edits or replaces those replies
                before delivery (`respond` returns `status="awaiting_review"`; continue with
                `resume`). Without a checkpointer, threads are kept in memory.
            audience: `counselor`, or `client`: the graph then streams the reply only, and
                a review holds the turn with a holding message (`emostage.audience`). The
                `Reply` still has the analysis, read from the thread: the API is staff's.
            **settings: Fields of `Context`, e.g. `model`, `language`, `mode`.

        Raises:
            ConfigError: an unknown or invalid setting.
            TaxonomyError: the taxonomy cannot be loaded.
        """
        try:
            self.context = Context(**settings)
        except TypeError as exc:
            raise ConfigError(
                f"Unknown setting: {exc}. See emostage.Context for the fields."
            ) from None
        self.chat_model = chat_model
        self._choosing = threading.Lock()
        self._closing = ExitStack()
        if store is not None and checkpointer is not None:
            raise ConfigError("Give a checkpointer or a store, not both.")
        if self.context.safety_model:
            guard_adapter(self.context.safety_model)  # an unknown guard family fails now
        check_locale(self.context.locale, self.context.crisis_resources)
        if store is not None:  # opened last: nothing after it can fail but the graph
            checkpointer = self._closing.enter_context(open_store(store))
        if (review != "off" or audience == "client") and checkpointer is None:
            checkpointer = InMemorySaver()  # a paused turn is kept; a client's Reply read
        try:
            self.graph = build_graph(
                chat_model,
                taxonomy=taxonomy,
                checkpointer=checkpointer,
                analysis=analysis,
                review=review,
                audience=audience,
            )
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the session store this object opened (`store=`), if any."""
        self._closing.close()

    def __enter__(self) -> EmoStage:
        """Use as a context manager: the store is closed at the end."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the store."""
        self.close()

    def preflight(self) -> str:
        """Check that the configured backend is up and has the model.

        With `backend="auto"`, this is where the backend is chosen.

        Returns:
            A one-line note on what `auto` picked and why; empty otherwise.

        Raises:
            ModelUnavailableError: with a one-line fix.
            ConfigError: the backend is not installed or configured.
        """
        if self.chat_model is not None:
            return ""
        note = self._choose_backend()
        preflight(self.context)
        return note

    def _choose_backend(self) -> str:
        """Resolve `auto` once, for the life of this object: never again per turn."""
        with self._choosing:
            if self.chat_model is not None or self.context.backend != "auto":
                return ""
            self.context, note = resolve_backend(self.context)
            return note

    def respond(
        self,
        dialogue: DialogueLike,
        *,
        thread_id: str | None = None,
        on_stage: OnStage | None = None,
        on_text: OnText | None = None,
        **overrides: Any,
    ) -> Reply:
        """The counselor's next turn for `dialogue`, which must end with the client.

        Args:
            dialogue: Turns `{role, content}`, or a KokoroChat document.
            thread_id: With a checkpointer: continue this thread; `dialogue` holds the new turns.
                Without one, nothing is kept: it only names the session for the model server.
            on_stage: Told the names of the nodes running, as they change (progress).
            on_text: Told each change of the reply as it is written (`ReplyDelta`): text to
                append, or a replacement of all shown so far. Applied in order, they give
                exactly `Reply.response`.
            **overrides: `Context` fields for this call only.
        """
        run = self._new_turn(dialogue, thread_id, overrides)
        return self._reply(run_turn(self.graph, run, on_stage=on_stage, on_text=on_text), run)

    async def arespond(
        self,
        dialogue: DialogueLike,
        *,
        thread_id: str | None = None,
        on_stage: OnStage | None = None,
        on_text: OnText | None = None,
        **overrides: Any,
    ) -> Reply:
        """Async `respond`."""
        run = self._new_turn(dialogue, thread_id, overrides)
        output = await arun_turn(self.graph, run, on_stage=on_stage, on_text=on_text)
        return self._reply(output, run)

    def stream(
        self, dialogue: DialogueLike, *, thread_id: str | None = None, **overrides: Any
    ) -> Iterator[ReplyDelta]:
        """Yield the reply as it is written, in sentence-sized `ReplyDelta`s.

        A delta appends text, or (`replace`) replaces all shown so far: when a draft
        falls back, or when the turn fails after part of it was shown (then the
        replacement is empty, and the error follows). Applied in order
        (`emostage.shown_text`), the deltas give exactly the reply `respond` returns and
        the thread stores. A turn that pauses for a reviewer yields nothing; for a client
        audience, the holding message the client is shown meanwhile (`Reply.holding`).
        """
        yield from stream_turn(self.graph, self._new_turn(dialogue, thread_id, overrides))

    async def astream(
        self, dialogue: DialogueLike, *, thread_id: str | None = None, **overrides: Any
    ) -> AsyncIterator[ReplyDelta]:
        """Async `stream`."""
        async for delta in astream_turn(self.graph, self._new_turn(dialogue, thread_id, overrides)):
            yield delta

    def rewrite(
        self,
        dialogue: DialogueLike,
        draft: str,
        *,
        thread_id: str | None = None,
        on_stage: OnStage | None = None,
        **overrides: Any,
    ) -> Reply:
        """The counselor's own `draft` of the next turn, improved, as HAILEY does.

        The turn analyses the dialogue as `respond` does, then rewrites the draft for
        empathy and for the phase, changing as little as it can; `Reply.changes` names each
        change. On a crisis turn the crisis resources follow it. When no usable rewrite
        comes, the draft is delivered unchanged (see `diagnostics.fallbacks`).

        Raises:
            InputError: the draft is empty, or the dialogue is invalid.
        """
        run = self._new_turn(dialogue, thread_id, overrides, counselor_draft(draft))
        return self._reply(run_turn(self.graph, run, on_stage=on_stage), run)

    async def arewrite(
        self, dialogue: DialogueLike, draft: str, *, thread_id: str | None = None, **overrides: Any
    ) -> Reply:
        """Async `rewrite`."""
        run = self._new_turn(dialogue, thread_id, overrides, counselor_draft(draft))
        return self._reply(await arun_turn(self.graph, run), run)

    def finish(self, thread_id: str, *, on_stage: OnStage | None = None) -> Reply | None:
        """Finish a turn that was cut off (Ctrl-C, a crash) from its last checkpoint.

        Returns:
            The reply, or None when the thread has no unfinished turn (a turn paused for
            review is not unfinished: see `resume`).
        """
        if self.graph.checkpointer is None:
            return None
        state = self.graph.get_state(thread_config(thread_id))
        if not state.next or state.interrupts:
            return None
        self._choose_backend()
        run = Run(None, thread_id, self.context)
        return self._reply(run_turn(self.graph, run, on_stage=on_stage), run)

    def resume(self, thread_id: str, decision: Any, **overrides: Any) -> Reply:
        """Deliver a turn that awaits review, after the reviewer's decision.

        Args:
            thread_id: The thread of the paused turn (`Reply.thread_id`).
            decision: LangChain's `{"decisions": [decision]}` (as agent-chat-ui sends it), or
                `"approve"`, `{"action": "edit" | "own", "response": text}` (new message,
                resources kept) or `{"action": "replace", "response": text}` (whole reply).
            **overrides: `Context` fields for this call only.

        Raises:
            InputError: the decision is invalid, or the thread awaits no review.
        """
        run = self._resumption(thread_id, decision, overrides)
        return self._reply(run_turn(self.graph, run), run)

    async def aresume(self, thread_id: str, decision: Any, **overrides: Any) -> Reply:
        """Async `resume`."""
        run = self._resumption(thread_id, decision, overrides)
        return self._reply(await arun_turn(self.graph, run), run)

    def pending_review(self, thread_id: str) -> ReviewRequest | None:
        """What the thread's paused turn waits for; None when no turn awaits review."""
        return pending_request(self.graph, thread_id)

    def _resumption(self, thread_id: str, decision: Any, overrides: Mapping[str, Any]) -> Run:
        payload = review_payload(self.graph, thread_id, decision)
        return Run(payload, thread_id, self._settings(overrides))

    def _settings(self, overrides: Mapping[str, Any]) -> Context:
        """This object's settings, with `overrides` for one call."""
        try:
            return replace(self.context, **overrides) if overrides else self.context
        except TypeError as exc:
            raise ConfigError(f"Unknown setting: {exc}.") from None

    def _new_turn(
        self,
        dialogue: DialogueLike,
        thread_id: str | None,
        overrides: Mapping[str, Any],
        counselor_draft: str = "",
    ) -> Run:
        self._choose_backend()
        context = self._settings(overrides)
        if counselor_draft:  # one reply, whatever the default (EMOSTAGE_CANDIDATES included)
            if overrides.get("candidates", 1) > 1:
                raise ConfigError("A rewrite writes one reply: leave candidates at 1.")
            context = replace(context, candidates=1)
        turns = dialogue_turns(dialogue)
        if thread_id is None:
            require_client_last(turns)
        payload = InputState(dialogue=turns, counselor_draft=counselor_draft)
        return Run(payload, thread_id or uuid.uuid4().hex, context)

    def _reply(self, output: Mapping[str, Any], run: Run) -> Reply:
        if self.graph.audience == "client":  # its stream carries the reply only: the API is staff
            output = {**self.graph.get_state(run.config).values, **output}
        model = describe_model(self.chat_model, run.context)
        return reply_of(output, run.context.mode, run.thread_id, model)
