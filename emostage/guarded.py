"""Every run of the EmoStage graph is guarded, whoever starts it.

`build_graph` returns an `EmoStageGraph`: LangGraph's compiled graph whose public `stream`
and `astream` (and so `invoke`, `ainvoke` and `astream_events`) run under `guarded_run`,
whoever calls them: `EmoStage`, a raw `graph.invoke`, a parent graph, LangGraph Server and
Studio. A guarded run
- resolves the turn's settings once (`Context`, from an object, a mapping or nothing);
- refuses input over `max_input_chars` before anything is stored;
- sets the turn's deadline (`emostage.models.deadline`), which bounds every model call;
- names the session for the model server (a digest of the thread id);
- turns LangSmith tracing off unless the settings say `allow_tracing`: traces would carry
  client text off the machine;
- on a session store (`emostage.sessions`), holds the thread's turn lock from start to
  end, waiting at most `turn_timeout_s`: turns of one thread never interleave;
- refuses a new message while the thread's turn awaits review, and a decision the thread
  cannot take, before anything is stored (`emostage.paused`);
- for a client audience, streams the reply only (`emostage.audience`);
- when the turn fails (for any reason but bad input), records the failure in the
  thread and ends the stream by telling the client, in their language
  (`emostage.failures`), before the error goes on to the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import ExitStack
from contextvars import Context as RunContext
from contextvars import copy_context
from typing import Any

from langgraph.errors import GraphBubbleUp
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot
from langsmith import tracing_context

from emostage.audience import Audience, client_options, client_view
from emostage.context import Context, resolve_context
from emostage.conversation import as_list, check_size
from emostage.errors import ConfigError
from emostage.failures import atold_failure, told_failure
from emostage.models.deadline import set_session, start_turn
from emostage.paused import decision_refusal, paused_refusal
from emostage.sessions.base import SessionStore, thread_of
from emostage.state import ClientOutputState, InputState, State


class EmoStageGraph(CompiledStateGraph[State, Context, InputState, Any]):
    """The compiled EmoStage graph: LangGraph's, with every run guarded (`guarded_run`)."""

    @property
    def audience(self) -> Audience:
        """Who talks to this graph: its output schema says (`emostage.audience`)."""
        return "client" if self.builder.output_schema is ClientOutputState else "counselor"

    def stream(
        self, input: Any, config: Any = None, *, context: Any = None, **kwargs: Any
    ) -> Iterator[Any]:
        """LangGraph's `stream` (and so `invoke`), run under the turn's guards."""
        settings = _checked(input, context)
        kwargs = _options(self, kwargs)
        lock = _TurnLock.of(self.checkpointer, config)
        if lock:
            lock.take(settings.turn_timeout_s)
        try:
            if _on_thread(self, config):
                _refuse_if_paused(self, input, self.get_state(config))
            run, exits = guarded_run(settings, config)
            stream: Any = super().stream  # LangGraph's, whose overloads need not be repeated
            steps = run.run(stream, input, config, context=settings, **kwargs)
            try:
                while True:
                    try:
                        chunk = run.run(next, steps)
                    except StopIteration:
                        return
                    yield _shown(self, chunk, kwargs)
            except GraphBubbleUp:  # a subgraph's pause, for its parent: no failure
                raise
            except Exception as error:
                yield from told_failure(self, error, input, config, settings, kwargs)
                raise
            finally:
                run.run(steps.close)
                run.run(exits.close)
        finally:
            if lock:
                lock.give_back()

    async def astream(
        self, input: Any, config: Any = None, *, context: Any = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        """LangGraph's `astream` (and so `ainvoke`, `astream_events`), under the guards."""
        settings = _checked(input, context)
        kwargs = _options(self, kwargs)
        lock = _TurnLock.of(self.checkpointer, config)
        if lock:  # database waits, on a worker thread
            await asyncio.to_thread(lock.take, settings.turn_timeout_s)
        try:
            if _on_thread(self, config):
                _refuse_if_paused(self, input, await self.aget_state(config))
            run, exits = guarded_run(settings, config)
            astream: Any = super().astream
            steps = run.run(astream, input, config, context=settings, **kwargs)

            async def step() -> Any:
                return await anext(steps)

            try:
                while True:
                    try:
                        # A task takes its context: here, the run's. Cancelling this one
                        # cancels the step it awaits.
                        chunk = await asyncio.create_task(step(), context=run)
                    except StopAsyncIteration:
                        return
                    yield _shown(self, chunk, kwargs)
            except GraphBubbleUp:  # a subgraph's pause, for its parent: no failure
                raise
            except Exception as error:
                for chunk in await atold_failure(self, error, input, config, settings, kwargs):
                    yield chunk
                raise
            finally:
                await asyncio.create_task(steps.aclose(), context=run)
                run.run(exits.close)
        finally:
            if lock:
                await asyncio.shield(asyncio.to_thread(lock.give_back))  # even when cancelled

    def astream_events(self, *args: Any, **kwargs: Any) -> Any:
        """LangChain's event stream: every node's input and output, so staff only.

        Raises:
            ConfigError: the graph talks to clients.
        """
        if self.audience == "client":
            raise ConfigError(
                "A client-facing graph streams no events: they carry the analysis. Stream "
                "values, messages, updates or custom."
            )
        return super().astream_events(*args, **kwargs)


def _options(graph: EmoStageGraph, options: dict[str, Any]) -> dict[str, Any]:
    """A run's stream options; a client's may not ask for other output keys.

    With a checkpointer, each step is stored before the next begins, unless the caller
    asks otherwise (`durability="sync"`): the client's words are on disk before any model
    call, so a crash mid-turn loses nothing; and a session store, which keeps only a
    thread's newest checkpoints, never sees an older one written late, which would drop a
    newer one's writes (a review pause).
    """
    if graph.checkpointer is not None and options.get("durability") is None:
        options = {**options, "durability": "sync"}  # (`invoke` passes None when unset)
    return client_options(options) if graph.audience == "client" else options


def _shown(graph: EmoStageGraph, chunk: Any, options: dict[str, Any]) -> Any:
    """A chunk as the graph's audience may see it."""
    if graph.audience == "counselor":
        return chunk
    return client_view(chunk, options.get("stream_mode") or graph.stream_mode, options)


def _on_thread(graph: EmoStageGraph, config: Any) -> bool:
    """Whether a run is on a kept thread, which may have a turn awaiting review."""
    return graph.checkpointer is not None and thread_of(config) is not None


def guard(graph: CompiledStateGraph[State, Context, InputState, Any]) -> EmoStageGraph:
    """`graph` as an `EmoStageGraph`: the same compiled graph, with guarded runs.

    Made as LangGraph's own `Pregel.copy` makes a copy, from the compiled graph's fields.
    """
    fields = {name: value for name, value in vars(graph).items() if name != "__orig_class__"}
    return EmoStageGraph(**fields)


def _checked(input: Any, context: Any) -> Context:
    """The run's settings, resolved once; its input refused if over the size limit.

    Raises:
        ConfigError: the settings are invalid.
        InputError: the input is over `max_input_chars`.
    """
    settings = resolve_context(context)
    if isinstance(input, InputState):
        draft: dict[str, Any] = {"content": input.counselor_draft}
        check_size([*input.dialogue, *input.messages, draft], settings)
    elif isinstance(input, Mapping):
        draft = {"content": input.get("counselor_draft")}
        check_size(
            [*as_list(input.get("dialogue")), *as_list(input.get("messages")), draft], settings
        )
    return settings


def _refuse_if_paused(graph: EmoStageGraph, input: Any, snapshot: StateSnapshot) -> None:
    """Refuse, before anything is stored, what a thread awaiting review cannot take.

    A new message while a turn awaits review; a decision that is invalid or comes the
    wrong way (`emostage.paused`).
    """
    if isinstance(input, Mapping | InputState):
        refusal = paused_refusal(snapshot, graph.audience)
    else:
        refusal = decision_refusal(snapshot, graph.audience, input)
    if refusal:
        raise refusal


def guarded_run(settings: Context, config: Any) -> tuple[RunContext, ExitStack]:
    """A context for one run (its deadline, session and tracing switch), and its exits."""
    run = copy_context()
    exits = ExitStack()
    run.run(start_turn, settings.turn_timeout_s)
    run.run(set_session, thread_of(config))
    if not settings.allow_tracing:
        run.run(exits.enter_context, tracing_context(enabled=False))
    return run, exits


class _TurnLock:
    """A run of one thread on a session store: its lock, and the tidying at its end."""

    def __init__(self, store: SessionStore, thread_id: str) -> None:
        self.store = store
        self.thread_id = thread_id
        self.lock = store.turn_lock(thread_id)

    @classmethod
    def of(cls, checkpointer: Any, config: Any) -> _TurnLock | None:
        """The lock a run takes, if it runs a thread on a session store; else None."""
        thread_id = thread_of(config)
        if not isinstance(checkpointer, SessionStore) or thread_id is None:
            return None
        return cls(checkpointer, thread_id)

    def take(self, wait_s: float) -> None:
        self.lock.acquire(wait_s)

    def give_back(self) -> None:
        try:
            self.store.after_turn(self.thread_id)
        finally:
            self.lock.release()
