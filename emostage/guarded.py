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
- when the turn fails (any `EmoStageError` but bad input), records the failure in the
  thread and ends the stream by telling the client, in their language
  (`emostage.failures`), before the error goes on to the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import ExitStack
from contextvars import Context as RunContext
from contextvars import copy_context
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot
from langsmith import tracing_context

from emostage.context import Context, resolve_context
from emostage.conversation import Turn, check_size, spoken_turns
from emostage.errors import EmoStageError, InputError
from emostage.failures import failure_text, failure_update
from emostage.models.deadline import set_session, start_turn
from emostage.nodes import DELIVER_REPLY
from emostage.sessions.base import SessionStore, thread_config, thread_of
from emostage.state import InputState, OutputState, State
from emostage.streaming import FAILED_KEY, REPLACE_KEY


class EmoStageGraph(CompiledStateGraph[State, Context, InputState, OutputState]):
    """The compiled EmoStage graph: LangGraph's, with every run guarded (`guarded_run`)."""

    def stream(
        self, input: Any, config: Any = None, *, context: Any = None, **kwargs: Any
    ) -> Iterator[Any]:
        """LangGraph's `stream` (and so `invoke`), run under the turn's guards."""
        settings = _checked(input, context)
        lock = _TurnLock.of(self.checkpointer, config)
        if lock:
            lock.take(settings.turn_timeout_s)
        try:
            run, exits = guarded_run(settings, config)
            stream: Any = super().stream  # LangGraph's, whose overloads need not be repeated
            steps = run.run(stream, input, config, context=settings, **kwargs)
            try:
                while True:
                    try:
                        chunk = run.run(next, steps)
                    except StopIteration:
                        return
                    yield chunk
            except EmoStageError as error:
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
        lock = _TurnLock.of(self.checkpointer, config)
        if lock:  # database waits, on a worker thread
            await asyncio.to_thread(lock.take, settings.turn_timeout_s)
        try:
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
                    yield chunk
            except EmoStageError as error:
                for chunk in await atold_failure(self, error, input, config, settings, kwargs):
                    yield chunk
                raise
            finally:
                await asyncio.create_task(steps.aclose(), context=run)
                run.run(exits.close)
        finally:
            if lock:
                await asyncio.shield(asyncio.to_thread(lock.give_back))  # even when cancelled


def told_failure(
    graph: EmoStageGraph,
    error: EmoStageError,
    input: Any,
    config: Any,
    settings: Context,
    options: Mapping[str, Any],
) -> list[Any]:
    """Record a failed turn in its thread; the chunks that end the stream by telling it.

    Bad input (`InputError`) is the caller's to fix and records nothing; a turn paused for
    review stays paused. When the store that failed the turn fails this write too, the
    client is still told.
    """
    if isinstance(error, InputError):
        return []
    latest = _thread(graph, config)
    if latest is None:
        return _telling(graph, settings, options, _said(input), None)
    try:
        snapshot = graph.get_state(latest)
        if snapshot.interrupts:
            return []
        dialogue = snapshot.values.get("dialogue", [])
        update = failure_update(snapshot.values, error, settings)
        graph.update_state(latest, update, as_node=DELIVER_REPLY)
        after = graph.get_state(latest)
    except Exception:
        return _telling(graph, settings, options, _said(input), None)
    return _telling(graph, settings, options, dialogue, after)


async def atold_failure(
    graph: EmoStageGraph,
    error: EmoStageError,
    input: Any,
    config: Any,
    settings: Context,
    options: Mapping[str, Any],
) -> list[Any]:
    """`told_failure` on the event loop."""
    if isinstance(error, InputError):
        return []
    latest = _thread(graph, config)
    if latest is None:
        return _telling(graph, settings, options, _said(input), None)
    try:
        snapshot = await graph.aget_state(latest)
        if snapshot.interrupts:
            return []
        dialogue = snapshot.values.get("dialogue", [])
        update = failure_update(snapshot.values, error, settings)
        await graph.aupdate_state(latest, update, as_node=DELIVER_REPLY)
        after = await graph.aget_state(latest)
    except Exception:
        return _telling(graph, settings, options, _said(input), None)
    return _telling(graph, settings, options, dialogue, after)


def _said(input: Any) -> list[Turn]:
    """The turns a run without a thread was sent (for the language of its notice)."""
    if isinstance(input, InputState):
        items: list[Any] = [*input.dialogue, *input.messages]
    elif isinstance(input, Mapping):
        items = [*_items(input.get("dialogue")), *_items(input.get("messages"))]
    else:
        items = []
    turns = [item for item in items if isinstance(item, Turn)]
    try:
        spoken = spoken_turns([item for item in items if not isinstance(item, Turn)])
    except InputError:  # what could not be read is told in the language of the rest
        spoken = []
    return turns + [Turn(role=role, content=text) for role, text in spoken]


def _thread(graph: EmoStageGraph, config: Any) -> Any:
    """The latest checkpoint of the run's thread, if it runs on one."""
    thread = thread_of(config)
    return thread_config(thread) if thread and graph.checkpointer is not None else None


def _telling(
    graph: EmoStageGraph,
    settings: Context,
    options: Mapping[str, Any],
    dialogue: Sequence[Turn],
    after: StateSnapshot | None,
) -> list[Any]:
    """The chunks that end a failed run's stream: the client's notice, the new state."""
    notice = {REPLACE_KEY: failure_text(list(dialogue), settings)}
    keys = [graph.output_channels] if isinstance(graph.output_channels, str) else []
    keys = keys or list(graph.output_channels)
    values = {k: after.values[k] for k in keys if k in after.values} if after else None
    custom = {**notice, FAILED_KEY: True}
    return stream_chunks(options, graph.stream_mode, custom=custom, values=values)


def stream_chunks(
    options: Mapping[str, Any],
    default_mode: Any,
    *,
    custom: dict[str, Any],
    values: dict[str, Any] | None,
) -> list[Any]:
    """`custom` and `values` as chunks of a stream run with `options`, in its shape."""
    modes = options.get("stream_mode") or default_mode
    single = isinstance(modes, str)
    chunks = []
    for mode, payload in (("custom", custom), ("values", values)):
        if payload is None or mode not in ([modes] if single else modes):
            continue
        chunk: Any = payload if single else (mode, payload)
        if options.get("subgraphs"):
            chunk = ((), chunk) if single else ((), mode, payload)
        chunks.append(chunk)
    return chunks


def guard(graph: CompiledStateGraph[State, Context, InputState, OutputState]) -> EmoStageGraph:
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
            [*_items(input.get("dialogue")), *_items(input.get("messages")), draft], settings
        )
    return settings


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


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
