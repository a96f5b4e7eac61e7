"""Running the EmoStage graph: the one runner of `EmoStage`.

Every `EmoStage` entry point (`respond`, `arespond`, `stream`, `astream`, `resume`,
`aresume`, `finish`) is a `Run` carried out by `run_turn` or `arun_turn`: one stream loop,
read by `Events`, which tells the running stages (`on_stage`) and the reply as it is
written (`on_text`, `emostage.streaming.ReplyDelta`s), and gives the output that `reply_of`
makes a `Reply` of. A turn that fails after part of its reply was shown retracts it (an
empty replacement), unless the run ended by telling the client the turn failed
(`emostage.failures`): what stays shown is what was stored. The graph's own guards, which
every run passes whoever starts it, are in `emostage.guarded`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig

from emostage.audience import held_text
from emostage.context import Context
from emostage.errors import InputError
from emostage.guarded import EmoStageGraph
from emostage.paused import decision_input, pending_for, waiting_request
from emostage.review import ReviewDecision, ReviewRequest, paused_request
from emostage.safety import RiskAssessment
from emostage.sessions.base import thread_config
from emostage.state import Diagnostics, NodeReport, Reply
from emostage.streaming import FAILED_KEY, ReplyDelta, delta_of

INTERRUPT = "__interrupt__"  # where LangGraph's output holds a paused run's interrupts
OnStage = Callable[[frozenset[str]], None]
OnText = Callable[[ReplyDelta], None]
_MODES: Any = ["values", "updates", "custom"]
_MODES_WITH_STAGES: Any = [*_MODES, "tasks"]  # only when someone is told the stages


@dataclass(frozen=True)
class Run:
    """One run that `EmoStage` starts: what it sends, on which thread, with which settings.

    Attributes:
        payload: New input, a `Command` (a review decision), or None (finish a cut-off turn).
        thread_id: The thread.
        context: The turn's settings.
    """

    payload: Any
    thread_id: str
    context: Context

    @property
    def config(self) -> RunnableConfig:
        """The run's config: its thread."""
        return thread_config(self.thread_id)

    def options(self, *, stages: bool = False) -> dict[str, Any]:
        """What `stream` takes besides the input and config (`stages`: the tasks mode too)."""
        modes = _MODES_WITH_STAGES if stages else _MODES
        return {"context": self.context, "stream_mode": modes}


class Events:
    """A run's stream, read as it comes: its output, pauses, running stages and reply."""

    def __init__(self, on_stage: OnStage | None = None) -> None:
        self.on_stage = on_stage
        self.output: dict[str, Any] = {}
        self.paused: list[Any] = []
        self.running: set[str] = set()
        self.shown = ""
        self.told_failure = False

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
            self.told_failure = bool(chunk.get(FAILED_KEY))
            return delta
        return None

    def retraction(self) -> list[ReplyDelta]:
        """The run failed: the delta that takes back what was shown of its reply, if any.

        None when the run already replaced it by telling the client that the turn failed.
        """
        return [ReplyDelta("", replaces=True)] if self.shown and not self.told_failure else []

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


def pending_request(graph: EmoStageGraph, thread_id: str) -> ReviewRequest | None:
    """What the thread's paused or held turn waits for; None when no turn awaits review.

    Raises:
        InputError: the turn was paused for a counselor, and the graph faces clients.
    """
    if graph.checkpointer is None:
        return None
    return pending_for(graph.get_state(thread_config(thread_id)), graph.audience)


def review_payload(graph: EmoStageGraph, thread_id: str, decision: Any) -> Any:
    """The input that delivers the thread's turn after `decision`.

    The run checks the decision against the waiting turn when it starts (`emostage.paused`).

    Raises:
        InputError: the decision is invalid, or the thread awaits no review.
    """
    ReviewDecision.parse(decision)  # a bad decision fails first, even on a thread unkept
    snapshot = graph.get_state(thread_config(thread_id)) if graph.checkpointer else None
    if snapshot is None or waiting_request(snapshot) is None:
        raise InputError(f"Thread {thread_id!r} has no turn awaiting review.")
    return decision_input(snapshot, decision)


def reply_of(output: Mapping[str, Any], mode: str, thread_id: str, model: str) -> Reply:
    """The `Reply` of a run's output (for a client audience: with the thread's state)."""
    reports: list[NodeReport] = list(output.get("reports", {}).values())
    paused = [paused_request(i.value) for i in output.get(INTERRUPT, ())]
    if held := output.get("awaiting_review"):
        paused.append(ReviewRequest.model_validate(held))
    return Reply(
        # While a reviewer decides, nothing is delivered: never the thread's last reply.
        response="" if paused else output["response"],
        status="awaiting_review" if paused else "delivered",
        thread_id=thread_id,
        pending_review=paused[0] if paused else None,
        review=None if paused else output.get("review"),
        holding=held_text(output),
        changes=[] if paused else output.get("changes", []),
        candidates=output.get("candidates", []),
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
