"""Every run of the EmoStage graph: a turn deadline, and no tracing of client text.

These hold whoever runs the graph: `EmoStage`, a raw `graph.invoke` or `graph.stream`, the
async twins, a parent graph, LangGraph Server and Studio. All of them go through
`stream` or `astream`, which run each step in a context of the run's own, holding:
- the turn's deadline (`emostage.deadline`), which bounds every model call in the turn;
- LangSmith tracing turned off, even when `LANGSMITH_TRACING=true` is set, unless the
  turn's settings say `allow_tracing`: traces would carry client text off the machine.
And every checkpointer a run uses, its own or a parent graph's, reads and writes with
EmoStage's state classes registered (`emostage.checkpoints`).
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

from emostage.checkpoints import with_state_types
from emostage.context import Context, resolve_context
from emostage.deadline import start_turn
from emostage.state import InputState, OutputState, State


class EmoStageGraph(CompiledStateGraph[State, Context, InputState, OutputState]):
    """The compiled EmoStage graph: LangGraph's, with each run bounded and untraced."""

    def stream(
        self, input: Any, config: Any = None, *, context: Any = None, **kwargs: Any
    ) -> Iterator[Any]:
        """LangGraph's `stream` (and so `invoke`), run under the turn's guards."""
        run, exits = _guarded(context)
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

    async def astream(
        self, input: Any, config: Any = None, *, context: Any = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        """LangGraph's `astream` (and so `ainvoke`, `astream_events`), under the guards."""
        run, exits = _guarded(context)
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

    def _apply_checkpointer_allowlist(
        self, checkpointer: BaseCheckpointSaver[Any] | None
    ) -> BaseCheckpointSaver[Any] | None:
        """LangGraph's hook on the checkpointer of each run and state read: ours registered."""
        applied = super()._apply_checkpointer_allowlist(checkpointer)
        return with_state_types(applied) if applied is not None else None


def _guarded(context: Any) -> tuple[RunContext, ExitStack]:
    """A context for one run, holding its deadline and tracing switch; and how to leave it."""
    settings = resolve_context(context)
    run = copy_context()
    exits = ExitStack()
    run.run(start_turn, settings.turn_timeout_s)
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
