"""Running the EmoStage graph: the guards of every run, and the one runner of `EmoStage`.

**Every run is guarded.** `build_graph` returns an `EmoStageGraph`: LangGraph's compiled
graph whose public `stream` and `astream` (and so `invoke`, `ainvoke` and
`astream_events`) run under `guarded_run`, whoever calls them: `EmoStage`, a raw
`graph.invoke`, a parent graph, LangGraph Server and Studio. A guarded run
- resolves the turn's settings once (`Context`, from an object, a mapping or nothing);
- refuses input over `max_input_chars` before anything is stored;
- sets the turn's deadline (`emostage.models.deadline`), which bounds every model call;
- names the session for the model server (a digest of the thread id);
- turns LangSmith tracing off unless the settings say `allow_tracing`: traces would carry
  client text off the machine;
- on a session store (`emostage.sessions`), holds the thread's turn lock from start to
  end, waiting at most `turn_timeout_s`: turns of one thread never interleave.

**One runner.** Every `EmoStage` entry point (`respond`, `arespond`, `stream`, `astream`,
`resume`, `aresume`, `finish`) is a `Run` carried out by `run_turn` or `arun_turn`: one
stream loop, read by `Events`, which tells the running stages (`on_stage`) and the reply
as it is written (`on_text`, `emostage.streaming.ReplyDelta`s), and gives the output that
`reply_of` makes a `Reply` of. A turn that fails after part of its reply was shown
retracts it (an empty replacement): what stays shown is what was stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import ExitStack
from contextvars import Context as RunContext
from contextvars import copy_context
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Durability
from langsmith import tracing_context

from emostage.context import Context, resolve_context
from emostage.conversation import check_size
from emostage.models.deadline import set_session, start_turn
from emostage.review import paused_request
from emostage.safety import RiskAssessment
from emostage.sessions.base import SessionStore, thread_config, thread_of
from emostage.state import Diagnostics, InputState, NodeReport, OutputState, Reply, State
from emostage.streaming import ReplyDelta, delta_of

INTERRUPT = "__interrupt__"  # where LangGraph's output holds a paused run's interrupts
OnStage = Callable[[frozenset[str]], None]
OnText = Callable[[ReplyDelta], None]
_MODES: Any = ["values", "updates", "custom"]
_MODES_WITH_STAGES: Any = [*_MODES, "tasks"]  # only when someone is told the stages


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
            finally:
                await asyncio.create_task(steps.aclose(), context=run)
                run.run(exits.close)
        finally:
            if lock:
                await asyncio.shield(asyncio.to_thread(lock.give_back))  # even when cancelled


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
        check_size([*input.dialogue, *input.messages], settings)
    elif isinstance(input, Mapping):
        check_size([*_items(input.get("dialogue")), *_items(input.get("messages"))], settings)
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


@dataclass(frozen=True)
class Run:
    """One run that `EmoStage` starts: what it sends, on which thread, with which settings.

    Attributes:
        payload: New input, a `Command` (a review decision), or None (finish a cut-off turn).
        thread_id: The thread.
        context: The turn's settings.
        durability: How durably LangGraph stores each step (None without a checkpointer).
    """

    payload: Any
    thread_id: str
    context: Context
    durability: Durability | None

    @property
    def config(self) -> RunnableConfig:
        """The run's config: its thread."""
        return thread_config(self.thread_id)

    def options(self, *, stages: bool = False) -> dict[str, Any]:
        """What `stream` takes besides the input and config (`stages`: the tasks mode too)."""
        modes = _MODES_WITH_STAGES if stages else _MODES
        return {"context": self.context, "durability": self.durability, "stream_mode": modes}


class Events:
    """A run's stream, read as it comes: its output, pauses, running stages and reply."""

    def __init__(self, on_stage: OnStage | None = None) -> None:
        self.on_stage = on_stage
        self.output: dict[str, Any] = {}
        self.paused: list[Any] = []
        self.running: set[str] = set()
        self.shown = ""

    def read(self, mode: str, chunk: Any) -> ReplyDelta | None:
        """Take one `(mode, chunk)` event; the reply's delta, if it is one."""
        if mode == "values":
            self.output = chunk
        elif mode == "updates" and INTERRUPT in chunk:
            self.paused.extend(chunk[INTERRUPT])
        elif mode == "tasks":
            # A task's first event carries its input, its last its result.
            (self.running.add if "input" in chunk else self.running.discard)(chunk["name"])
            if self.on_stage and self.running:
                self.on_stage(frozenset(self.running))
        elif mode == "custom" and (delta := delta_of(chunk)):
            self.shown = delta.apply(self.shown)
            return delta
        return None

    def retraction(self) -> list[ReplyDelta]:
        """The run failed: the delta that takes back what was shown of its reply, if any."""
        return [ReplyDelta("", replaces=True)] if self.shown else []

    def result(self) -> dict[str, Any]:
        """The run's output, with its pauses."""
        return {**self.output, INTERRUPT: self.paused} if self.paused else self.output


def stream_turn(
    graph: EmoStageGraph, run: Run, events: Events | None = None
) -> Iterator[ReplyDelta]:
    """Carry `run` out, yielding its reply's deltas as they come; `events` reads the rest."""
    events = events or Events()
    options = run.options(stages=events.on_stage is not None)
    try:
        for mode, chunk in graph.stream(run.payload, run.config, **options):
            if delta := events.read(mode, chunk):
                yield delta
    except GeneratorExit:  # the caller stopped reading: nothing more to show
        raise
    except BaseException:
        yield from events.retraction()
        raise


async def astream_turn(
    graph: EmoStageGraph, run: Run, events: Events | None = None
) -> AsyncIterator[ReplyDelta]:
    """`stream_turn` on the event loop."""
    events = events or Events()
    options = run.options(stages=events.on_stage is not None)
    try:
        async for mode, chunk in graph.astream(run.payload, run.config, **options):
            if delta := events.read(mode, chunk):
                yield delta
    except GeneratorExit:
        raise
    except BaseException:
        for delta in events.retraction():
            yield delta
        raise


def run_turn(
    graph: EmoStageGraph,
    run: Run,
    *,
    on_stage: OnStage | None = None,
    on_text: OnText | None = None,
) -> dict[str, Any]:
    """Carry `run` out, blocking; tell its stages and reply as they come."""
    events = Events(on_stage)
    for delta in stream_turn(graph, run, events):
        if on_text is not None:
            on_text(delta)
    return events.result()


async def arun_turn(
    graph: EmoStageGraph,
    run: Run,
    *,
    on_stage: OnStage | None = None,
    on_text: OnText | None = None,
) -> dict[str, Any]:
    """`run_turn` on the event loop."""
    events = Events(on_stage)
    async for delta in astream_turn(graph, run, events):
        if on_text is not None:
            on_text(delta)
    return events.result()


def reply_of(output: Mapping[str, Any], mode: str, thread_id: str, model: str) -> Reply:
    """The `Reply` of a run's output."""
    reports: list[NodeReport] = list(output.get("reports", {}).values())
    paused = [i.value for i in output.get(INTERRUPT, ())]
    return Reply(
        # While a reviewer decides, nothing is delivered: never the thread's last reply.
        response="" if paused else output["response"],
        status="awaiting_review" if paused else "delivered",
        thread_id=thread_id,
        pending_review=paused_request(paused[0]) if paused else None,
        review=None if paused else output.get("review"),
        phase=output.get("phase"),
        phase_rationale=output.get("phase_rationale", ""),
        perspective=output.get("perspective"),
        language=output.get("language", ""),
        mode=mode,
        risk=output.get("risk") or RiskAssessment(),
        diagnostics=Diagnostics(
            model=model,
            nodes=reports,
            fallbacks=[f"{r.node}: {r.fallback}" for r in reports if r.fallback],
        ),
    )
