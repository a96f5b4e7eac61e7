"""Every run of the EmoStage graph: a turn deadline, and no tracing of client text.

These hold whoever runs the graph: `EmoStage`, a raw `graph.invoke` or `graph.stream`, the
async twins, a parent graph, LangGraph Server and Studio. All of them go through
`stream` or `astream`, which run each step in a context of the run's own, holding:
- the turn's deadline (`emostage.deadline`), which bounds every model call in the turn;
- LangSmith tracing turned off, even when `LANGSMITH_TRACING=true` is set, unless the
  turn's settings say `allow_tracing`: traces would carry client text off the machine.
And every checkpointer a run uses, its own or a parent graph's, reads and writes with
EmoStage's state classes registered (`emostage.checkpoints`). On a session store
(`emostage.sessions`), a run of a thread holds the thread's turn lock from start to end,
waiting for it at most `turn_timeout_s`: turns of one session never interleave, across
processes and machines.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from contextvars import Context as RunContext
from contextvars import copy_context
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langsmith import tracing_context

from emostage.backends.transport import set_session
from emostage.checkpoints import with_state_types
from emostage.context import Context, resolve_context
from emostage.deadline import start_turn
from emostage.sessions.base import SessionStore
from emostage.state import InputState, OutputState, State


class EmoStageGraph(CompiledStateGraph[State, Context, InputState, OutputState]):
    """The compiled EmoStage graph: LangGraph's, with each run bounded and untraced."""

    def stream(
        self, input: Any, config: Any = None, *, context: Any = None, **kwargs: Any
    ) -> Iterator[Any]:
        """LangGraph's `stream` (and so `invoke`), run under the turn's guards."""
        run, exits = _guarded(context, config)
        turn = _Turn.of(self.checkpointer, config)
        if turn:
            turn.start(resolve_context(context).turn_timeout_s)
        try:
            stream: Any = super().stream  # LangGraph's, whose overloads need not be repeated
            steps = run.run(stream, input, config, context=context, **kwargs)
            try:
                while True:
                    try:
                        chunk = run.run(next, steps)
                    except StopIteration:
                        return
                    yield chunk
            finally:
                run.run(steps.close)
                run.run(exits.close)
        finally:
            if turn:
                turn.end()

    async def astream(
        self, input: Any, config: Any = None, *, context: Any = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        """LangGraph's `astream` (and so `ainvoke`, `astream_events`), under the guards."""
        run, exits = _guarded(context, config)
        turn = _Turn.of(self.checkpointer, config)
        if turn:  # database waits, on a worker thread
            await asyncio.to_thread(turn.start, resolve_context(context).turn_timeout_s)
        try:
            astream: Any = super().astream
            steps = run.run(astream, input, config, context=context, **kwargs)

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
            finally:
                await asyncio.create_task(steps.aclose(), context=run)
                run.run(exits.close)
        finally:
            if turn:
                await asyncio.shield(asyncio.to_thread(turn.end))  # even when cancelled

    def _apply_checkpointer_allowlist(
        self, checkpointer: BaseCheckpointSaver[Any] | None
    ) -> BaseCheckpointSaver[Any] | None:
        """LangGraph's hook on the checkpointer of each run and state read: ours registered."""
        applied = super()._apply_checkpointer_allowlist(checkpointer)
        return with_state_types(applied) if applied is not None else None


class _Turn:
    """A run of one thread on a session store: its lock, and the tidying at its end."""

    def __init__(self, store: SessionStore, thread_id: str) -> None:
        self.store = store
        self.thread_id = thread_id
        self.lock = store.turn_lock(thread_id)

    @classmethod
    def of(cls, checkpointer: Any, config: Any) -> _Turn | None:
        """The turn a run is, if it runs a thread on a session store; else None."""
        thread_id = _thread_of(config)
        if not isinstance(checkpointer, SessionStore) or thread_id is None:
            return None
        return cls(checkpointer, thread_id)

    def start(self, wait_s: float) -> None:
        self.lock.acquire(wait_s)

    def end(self) -> None:
        try:
            self.store.after_turn(self.thread_id)
        finally:
            self.lock.release()


def _thread_of(config: Any) -> str | None:
    """The thread a run's config names, if any."""
    thread_id = ((config or {}).get("configurable") or {}).get("thread_id")
    return None if thread_id is None else str(thread_id)


def _guarded(context: Any, config: Any) -> tuple[RunContext, ExitStack]:
    """A context for one run (its deadline, tracing switch and session), and its exits."""
    settings = resolve_context(context)
    run = copy_context()
    exits = ExitStack()
    run.run(start_turn, settings.turn_timeout_s)
    run.run(set_session, _thread_of(config))
    if not settings.allow_tracing:
        run.run(exits.enter_context, tracing_context(enabled=False))
    return run, exits


def guarded(graph: CompiledStateGraph[State, Context, InputState, OutputState]) -> EmoStageGraph:
    """`graph`, as an `EmoStageGraph`.

    LangGraph's `StateGraph.compile` builds its own class and takes none other; the
    compiled object's class is swapped in place, which adds behaviour and no state.
    """
    graph.__class__ = EmoStageGraph
    return graph  # type: ignore[return-value]
