"""Every run-scoped variable: the turn's deadline, a model call's bound, the session key.

Wall-clock deadlines: every turn and every model call ends in bounded time.

A turn's deadline is set once per graph run (`emostage.run`), so it holds
on every path: `respond`, `stream`, the async twins, a raw `graph.invoke`, LangGraph
Server. Each model call then gets `min(now + request_timeout_s, turn deadline)`, which the
HTTP transport (`emostage.models.backends.transport`) and the in-process backend enforce. Both
live in context variables, which LangGraph and LangChain copy into the threads and tasks
that run nodes and models.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from emostage.errors import OutputCapError, TransientModelError

__all__ = [
    "SESSION_HEADER",
    "CallBound",
    "CallTimeoutError",
    "CallWindow",
    "OutputCapError",
    "TurnTimeoutError",
    "bounded_call",
    "current_call",
    "session_key",
    "set_session",
    "start_turn",
    "turn_deadline",
]

_TURN_DEADLINE: ContextVar[float | None] = ContextVar("emostage_turn_deadline", default=None)
_CALL: ContextVar[CallBound | None] = ContextVar("emostage_call_bound", default=None)
# Sent with every model request of a turn that runs a thread, so that a load balancer can
# send a session's calls to one model replica, whose prefix cache holds its transcript
# (deploy/nginx.conf). A digest: the thread id itself stays here.
SESSION_HEADER = "X-EmoStage-Session"
_SESSION: ContextVar[str | None] = ContextVar("emostage_session_key", default=None)


class CallTimeoutError(TransientModelError):
    """A model call ran past its deadline (the server stalled, or trickled an answer)."""


class TurnTimeoutError(CallTimeoutError):
    """The turn's deadline passed: no more model calls are made in this turn."""


@dataclass
class CallBound:
    """What one model call may take: time until `deadline`, at most `max_bytes` of answer.

    The transport also notes here a server's `Retry-After`, for the retry that follows.
    """

    deadline: float
    max_bytes: int
    turn_ends: bool = False
    retry_after_s: float | None = field(default=None)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.deadline - time.monotonic())

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return time.monotonic() >= self.deadline

    def timeout_error(self) -> CallTimeoutError:
        """The error to raise when the deadline passes."""
        if self.turn_ends:
            return TurnTimeoutError(
                "The turn's deadline passed before the model answered (turn_timeout_s, "
                "EMOSTAGE_TURN_TIMEOUT). The model server is stalled or too slow."
            )
        return CallTimeoutError(
            "The model server did not finish answering within request_timeout_s "
            "(EMOSTAGE_TIMEOUT). Raise it, or use a smaller model."
        )


def turn_deadline() -> float | None:
    """The running turn's deadline (a `time.monotonic()` instant), if a turn is running."""
    return _TURN_DEADLINE.get()


def start_turn(timeout_s: float) -> None:
    """Set the deadline of the turn that starts now, in the current context.

    A turn nested in another (EmoStage as a subgraph) keeps the outer, earlier deadline.
    """
    ends = time.monotonic() + timeout_s
    outer = _TURN_DEADLINE.get()
    _TURN_DEADLINE.set(ends if outer is None else min(outer, ends))


@dataclass(frozen=True)
class CallWindow:
    """When a model call and all its retries must end: its share of the turn's time."""

    ends: float | None  # a `time.monotonic()` instant; None outside a turn
    is_turn_end: bool = False

    @classmethod
    def open(cls, turn_share: float = 1.0) -> CallWindow:
        """The window of a call starting now, which may take `turn_share` of the turn's rest.

        Raises:
            TurnTimeoutError: the turn's deadline has already passed.
        """
        turn = _TURN_DEADLINE.get()
        if turn is None:
            return cls(None)
        now = time.monotonic()
        if turn <= now:
            raise CallBound(turn, 0, turn_ends=True).timeout_error()
        return cls(now + turn_share * (turn - now), is_turn_end=turn_share >= 1.0)

    def bound(self, timeout_s: float, max_bytes: int) -> CallBound:
        """The bound of one attempt starting now: its own timeout, cut short by the window.

        Raises:
            CallTimeoutError: the window has closed (`TurnTimeoutError` at the turn's end).
        """
        own = time.monotonic() + timeout_s
        if self.ends is None or own < self.ends:
            return CallBound(own, max_bytes)
        bound = CallBound(self.ends, max_bytes, turn_ends=self.is_turn_end)
        if bound.expired():
            raise bound.timeout_error()
        return bound


@contextmanager
def bounded_call(bound: CallBound) -> Iterator[CallBound]:
    """Make `bound` the current call's bound while the block runs."""
    token = _CALL.set(bound)
    try:
        yield bound
    finally:
        _CALL.reset(token)


def current_call() -> CallBound | None:
    """The bound of the model call running in this context, if any."""
    return _CALL.get()


def set_session(thread_id: str | None) -> None:
    """Name the session of the turn running in this context (None: no thread)."""
    if thread_id is None:
        _SESSION.set(None)
        return
    _SESSION.set(hashlib.sha256(thread_id.encode("utf-8", "surrogatepass")).hexdigest()[:16])


def session_key() -> str | None:
    """The running turn's session key (a digest of its thread id), if it runs a thread."""
    return _SESSION.get()
