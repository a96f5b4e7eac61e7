"""A thread whose turn awaits review: what it waits for, what it takes, what it refuses.

A turn waits in one of two ways (`emostage.audience`): paused by LangGraph's `interrupt()`
(a counselor-facing graph; decided by `Command(resume=decision)`), or held with a holding
message (a client-facing graph; decided by `decision_command(decision)`, a run of
`deliver_reply` with the decision in the state). Every run on such a thread is checked
here before it starts, whoever sends it (`EmoStage`, a raw graph, Studio, LangGraph
Server), so nothing that would fail is stored:
- a new message is refused with one line (`paused_refusal`), never merged into the turn;
- a decision is read against the waiting turn (`decision_refusal`): one that is no
  decision, that names no candidate of the turn, that comes the wrong way for this kind
  of wait, or that comes when nothing waits, is refused in one line; so is any other
  command while a turn waits (a `goto` or an update without a decision would drop or jam
  it). Let through, a bad decision would stay in the checkpoint and fail every later run.

This module is the one home of those checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from langgraph.types import Command, StateSnapshot

from emostage.audience import REVIEW_DECISION, Audience, decision_command
from emostage.errors import InputError
from emostage.languages import Language, detect_language
from emostage.prompts import load_prompts
from emostage.review import (
    EMOSTAGE_KEY,
    ReviewDecision,
    ReviewRequest,
    paused_request,
    reviewed_reply,
)


def waiting_request(snapshot: StateSnapshot) -> ReviewRequest | None:
    """What the thread's paused or held turn waits for; None when no turn awaits review."""
    for interrupt in snapshot.interrupts:
        if isinstance(interrupt.value, Mapping) and EMOSTAGE_KEY in interrupt.value:
            return paused_request(interrupt.value)
    held = snapshot.values.get("awaiting_review")
    return ReviewRequest.model_validate(held) if held else None


def pending_for(snapshot: StateSnapshot, audience: Audience) -> ReviewRequest | None:
    """What the thread's turn waits for, as a graph facing `audience` can decide it.

    Raises:
        InputError: the turn was paused for a counselor, and this graph faces clients.
    """
    request = waiting_request(snapshot)
    if request and snapshot.interrupts and audience == "client":
        raise _paused_for_counselor()
    return request


def paused_refusal(snapshot: StateSnapshot, audience: Audience) -> InputError | None:
    """The one-line refusal of a new message while the thread's turn awaits review."""
    values = snapshot.values
    if snapshot.interrupts:
        turn = sum(t.role == "client" for t in values.get("dialogue", []))
        return InputError(
            f"Turn {turn} awaits review; decide it first (EmoStage.resume, a "
            "Command(resume=...) or agent-chat-ui's controls), then send the next message. "
            "Nothing was stored."
        )
    if values.get("awaiting_review") is None:
        return None
    if audience == "client":
        spoken = values.get("language") or detect_language(values.get("dialogue", []))
        return InputError(load_prompts(cast(Language, spoken)).review_pending)
    return InputError("This thread's last turn awaits review by staff; send the decision first.")


def decision_input(snapshot: StateSnapshot, decision: Any) -> Command[Any]:
    """The run that delivers the thread's waiting turn after `decision`, as its wait takes it.

    The run is checked when it starts (`decision_refusal`), like any other.
    """
    return decision_command(decision) if _held(snapshot) else Command(resume=decision)


def decision_refusal(
    snapshot: StateSnapshot, audience: Audience, command: Any
) -> InputError | None:
    """The one-line refusal of a run that brings a decision the thread cannot take.

    None when the run brings no decision (it is not a `Command` with a `resume`, or with a
    `review_decision` update), or one the waiting turn takes.
    """
    if not isinstance(command, Command):
        return None
    update = _updates(command.update)
    request = waiting_request(snapshot)
    if command.resume is None and REVIEW_DECISION not in update:
        if request is None:
            return None
        return InputError(  # anything else would drop or jam the waiting turn
            "This thread's turn awaits review: a run on it brings the decision, "
            "Command(resume=decision) or Command(update={'review_decision': decision}, "
            "goto='deliver_reply'), and nothing else."
        )
    if request is None:
        return InputError("No turn of this thread awaits review; nothing was decided.")
    if command.resume is not None:
        if _held(snapshot):
            return InputError(
                "This turn is held for staff, not paused: send the decision as "
                "Command(update={'review_decision': decision}, goto='deliver_reply') "
                "(EmoStage.resume sends it)."
            )
        if audience == "client":
            return _paused_for_counselor()
        decision = _resume_value(command.resume, snapshot)
    elif snapshot.interrupts:
        return InputError(
            "This turn is paused (an interrupt): send the decision as Command(resume=decision)."
        )
    else:
        decision = update[REVIEW_DECISION]
    try:
        chosen = ReviewDecision.parse(decision, request.appendix, request.message)
        reviewed_reply(request.message, request.appendix, chosen, request.candidates)  # a pick
    except InputError as refusal:
        return refusal
    return None


def _updates(update: Any) -> dict[str, Any]:
    """A command's state update as a mapping.

    LangGraph takes a mapping, (key, value) pairs, or a state object.
    """
    if update is None:
        return {}
    if isinstance(update, Mapping):
        return dict(update)
    if isinstance(update, list | tuple):
        pairs = [item for item in update if isinstance(item, list | tuple) and len(item) == 2]
        return {str(key): value for key, value in pairs}
    if hasattr(update, REVIEW_DECISION):
        return {REVIEW_DECISION: getattr(update, REVIEW_DECISION)}
    return {}


def _held(snapshot: StateSnapshot) -> bool:
    """Whether the thread's turn is held for staff (a client-facing graph's wait)."""
    return not snapshot.interrupts and bool(snapshot.values.get("awaiting_review"))


def _resume_value(resume: Any, snapshot: StateSnapshot) -> Any:
    """The decision in a resume value: the value itself, or keyed by the interrupt's id."""
    ids = {interrupt.id for interrupt in snapshot.interrupts}
    if isinstance(resume, Mapping) and resume and set(resume) <= ids:
        return next(iter(resume.values()))
    return resume


def _paused_for_counselor() -> InputError:
    return InputError(
        "This turn was paused for a counselor (an interrupt): decide it on a counselor-facing "
        "graph (audience='counselor')."
    )
