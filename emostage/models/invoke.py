"""Running model calls, sync or async, under a deadline, retrying transient faults.

The code that decides what to ask (`emostage.models.ask`, the nodes) is written once, as
generators that yield a `ModelCall` and receive its answer, or yield `Together` (several
such generators, carried out at once: a node's candidate drafts) and receive their results.
`run_sync` and `run_async` carry the calls out:
- `run_sync` calls `model.invoke` (the `respond` and `stream` paths);
- `run_async` awaits `model.ainvoke` on the event loop, with no thread in between (the
  `arespond` and `astream` paths): cancelling the awaiting task cancels the HTTP request,
  and a thousand waiting turns cost no threads.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import copy_context
from dataclasses import dataclass
from typing import Any, TypeVar

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable
from langgraph.constants import TAG_NOSTREAM
from tenacity import AsyncRetrying, RetryCallState, Retrying, wait_exponential_jitter

from emostage.context import Context
from emostage.errors import EmoStageError, TransientModelError
from emostage.models.deadline import CallBound, CallWindow, TurnTimeoutError, bounded_call
from emostage.models.shown import ShownReply, TextSink
from emostage.models.source import server_error

T = TypeVar("T")
# A computation that asks the model: it yields calls, receives answers, returns a `T`.
Asking = Generator["ModelCall | Together", Any, T]

# An analysis call may take this share of the turn's remaining time, so that a slow server
# still leaves the draft its time: the analysis can fall back, a routine draft cannot.
ANALYSIS_SHARE = 0.5
_BACKOFF = wait_exponential_jitter(multiplier=0.5, max=4, jitter=0.25)
# A call is waited for this long past its deadline: the transports end a call at the
# deadline themselves, and this only bounds a plugged-in model that does not.
HARD_STOP_GRACE_S = 1.0
# Untagged, LangGraph's `messages` stream would show raw model output, JSON and unfinished
# drafts included; clients read the final reply (nodes/deliver_reply.py).
_UNSTREAMED: Any = {"tags": [TAG_NOSTREAM]}


@dataclass(frozen=True)
class CallPolicy:
    """How hard to try, and for how long.

    Attributes:
        bad_answer_retries: Retries of an unusable answer before falling back.
        attempts: Attempts at a transient server fault (5xx, 429, timeout, cut stream).
        timeout_s: Wall-clock limit of one call (the turn's deadline may cut it shorter).
        max_bytes: Output cap of one call, for a server that ignores the token limit.
        turn_share: Share of the turn's remaining time one call may take; analysis calls
            take half, so that a slow server still leaves the draft its time.
    """

    bad_answer_retries: int = 1
    attempts: int = 3
    timeout_s: float = 120.0
    max_bytes: int = 1 << 20
    turn_share: float = 1.0

    @classmethod
    def of(cls, context: Context, *, turn_share: float = 1.0) -> CallPolicy:
        """The policy a turn's settings ask for."""
        return cls(
            context.structured_retries,
            context.model_attempts,
            context.request_timeout_s,
            context.max_response_bytes,
            turn_share,
        )


@dataclass(frozen=True)
class ModelCall:
    """One model call to make: which model (or structured runnable), what to send, how.

    With a `sink`, the answer is streamed into it as it is written, and still returned
    whole.
    """

    model: Runnable[Any, Any]
    messages: Sequence[BaseMessage]
    policy: CallPolicy
    sink: TextSink | None = None


@dataclass(frozen=True)
class Together:
    """Askings to carry out at once; the asking that yields this gets their results, in order.

    On the blocking path each runs on a thread of its own, with the run's context (its
    deadline); on the event loop they are awaited together.
    """

    askings: Sequence[Asking[Any]]


def run_sync(asking: Asking[T]) -> T:
    """Carry out `asking`'s model calls one by one, blocking; return what it returns."""
    try:
        call = next(asking)
        while True:
            try:
                if isinstance(call, Together):
                    answer: Any = _together(call.askings)
                else:
                    answer = invoke_reliably(call.model, call.messages, call.policy, call.sink)
            except Exception as exc:  # handed to the asking code, which may recover
                call = asking.throw(exc)
            else:
                call = asking.send(answer)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def _together(askings: Sequence[Asking[Any]]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(askings)) as pool:
        done = [pool.submit(copy_context().run, run_sync, asking) for asking in askings]
        return [future.result() for future in done]


async def run_async(asking: Asking[T]) -> T:
    """Carry out `asking`'s model calls on the event loop; return what it returns."""
    try:
        call = next(asking)
        while True:
            try:
                if isinstance(call, Together):
                    answer: Any = list(await asyncio.gather(*map(run_async, call.askings)))
                else:
                    answer = await ainvoke_reliably(
                        call.model, call.messages, call.policy, call.sink
                    )
            except Exception as exc:
                call = asking.throw(exc)
            else:
                call = asking.send(answer)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        asking.close()  # on cancellation, the asking code's `finally` blocks run now


@contextmanager
def model_errors() -> Iterator[None]:
    """Turn a backend's transport and server failures into `ModelUnavailableError`.

    They are not bad answers: asking again at once would not fix them.
    """
    try:
        yield
    except EmoStageError:
        raise
    except Exception as exc:
        if error := server_error(exc):
            raise error from exc
        raise


class _Attempts:
    """The retry plan of one call: a bound per attempt, backoff, and when to give up.

    Each attempt is bounded by `policy.timeout_s` and the call's window of the turn's
    time; between attempts, jittered exponential backoff (0.5, 1, 2, then 4 s), or what a
    429's `Retry-After` asks, whichever is longer. No retry starts that could not end in
    time.
    """

    def __init__(self, policy: CallPolicy) -> None:
        self.policy = policy
        self.window = CallWindow.open(policy.turn_share)
        self.bounds: list[CallBound] = []

    def next_bound(self) -> CallBound:
        self.bounds.append(self.window.bound(self.policy.timeout_s, self.policy.max_bytes))
        return self.bounds[-1]

    def pause(self, state: RetryCallState) -> float:
        asked = self.bounds[-1].retry_after_s or 0.0 if self.bounds else 0.0
        return max(_BACKOFF(state), asked)

    def give_up(self, state: RetryCallState) -> bool:
        if state.attempt_number >= self.policy.attempts:
            return True
        # Would the pause alone outlast the call's share of the turn?
        ends = self.window.ends
        return ends is not None and time.monotonic() + self.pause(state) >= ends

    def retry_options(self) -> dict[str, Any]:
        return {
            "retry": _worth_retrying,
            "stop": self.give_up,
            "wait": self.pause,
            "reraise": True,
        }


def invoke_reliably(
    model: Runnable[Any, Any],
    messages: Sequence[BaseMessage],
    policy: CallPolicy,
    sink: TextSink | None = None,
) -> Any:
    """Invoke under a wall-clock deadline, retrying transient faults while time is left.

    With a `sink`, each attempt streams its answer into it (after `sink.restart()`).

    Raises:
        CallTimeoutError: the last attempt ran out of time.
        ModelUnavailableError: a permanent fault, or the last transient one.
    """
    attempts = _Attempts(policy)

    def call(feed: _Feed) -> Any:
        if sink is None:
            return model.invoke(list(messages), config=_UNSTREAMED)
        shown = ShownReply(inner=model, feed=feed, sink=sink, message_id=sink.message_id)
        for _ in shown.stream(list(messages)):
            pass  # the pieces went into the sink as they came
        return AIMessage(sink.raw)

    def attempt() -> Any:
        bound = attempts.next_bound()
        with bounded_call(bound), model_errors(), _Feed.open(sink) as feed:
            return hard_stop(lambda: call(feed), bound)

    return Retrying(**attempts.retry_options())(attempt)


async def ainvoke_reliably(
    model: Runnable[Any, Any],
    messages: Sequence[BaseMessage],
    policy: CallPolicy,
    sink: TextSink | None = None,
) -> Any:
    """`invoke_reliably` on the event loop: the same deadline, retries, errors and sink.

    The wait is cut at the deadline by cancelling the call, which closes its connection.
    """
    attempts = _Attempts(policy)

    async def call(feed: _Feed) -> Any:
        if sink is None:
            return await model.ainvoke(list(messages), config=_UNSTREAMED)
        shown = ShownReply(inner=model, feed=feed, sink=sink, message_id=sink.message_id)
        async for _ in shown.astream(list(messages)):
            pass  # the pieces went into the sink as they came
        return AIMessage(sink.raw)

    async def attempt() -> Any:
        bound = attempts.next_bound()
        with bounded_call(bound), model_errors(), _Feed.open(sink) as feed:
            try:
                async with asyncio.timeout(bound.remaining() + HARD_STOP_GRACE_S):
                    return await call(feed)
            except TimeoutError:
                raise bound.timeout_error() from None

    return await AsyncRetrying(**attempts.retry_options())(attempt)


class _Feed:
    """One attempt's way into a sink, shut when the attempt ends.

    A call abandoned at its deadline may still be writing in its thread: once shut, its
    late pieces go nowhere, so they never follow the text that replaced them.
    """

    def __init__(self, sink: TextSink | None) -> None:
        self.sink = sink
        self.lock = threading.Lock()

    @classmethod
    @contextmanager
    def open(cls, sink: TextSink | None) -> Iterator[_Feed]:
        """A feed for one attempt: the sink restarts, and is shut off at the end."""
        feed = cls(sink)
        if sink is not None:
            sink.restart()
        try:
            yield feed
        finally:
            with feed.lock:
                feed.sink = None

    def __call__(self, piece: str) -> None:
        with self.lock:
            if self.sink is not None and piece:
                self.sink.feed(piece)


def _worth_retrying(state: RetryCallState) -> bool:
    error = state.outcome.exception() if state.outcome else None
    return isinstance(error, TransientModelError) and not isinstance(error, TurnTimeoutError)


def hard_stop(call: Callable[[], Any], bound: CallBound) -> Any:
    """Run `call` in a thread and stop waiting for it soon after `bound`'s deadline.

    EmoStage's own backends end a call at its deadline; a plugged-in chat model may not,
    and its hang must not become the turn's.
    """
    outcome: dict[str, Any] = {}
    context = copy_context()  # the call's bound, callbacks and tracing settings go along

    def run() -> None:
        try:
            outcome["value"] = context.run(call)
        except BaseException as exc:  # handed to the waiting thread, raised there
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="emostage-model-call", daemon=True)
    worker.start()
    worker.join(bound.remaining() + HARD_STOP_GRACE_S)
    if worker.is_alive():
        raise bound.timeout_error()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
