"""A person in the loop: a reviewer approves, edits or replaces a reply before delivery.

With `review="crisis"` the graph pauses (LangGraph `interrupt()`) before a crisis reply
reaches the client; with `review="always"`, before every reply. The pause carries a
`ReviewRequest`; the run goes on with `Command(resume=decision)`, where `decision` is
`"approve"`, `{"action": "edit", "response": "..."}` (a new message; crisis resources are
still appended, so numbers stay exact) or `{"action": "replace", "response": "..."}` (the
whole reply, verbatim). The decision is kept in the state as a `ReviewRecord`.

This module is the one home of review: when a turn pauses (`needs_review`), what the
reviewer sees (`review_request`), what a decision may be (`ReviewDecision`), what is
delivered after it (`reviewed_reply`) and what is kept of it (`ReviewRecord`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from emostage.errors import InputError
from emostage.safety import Resource, RiskAssessment

ReviewPolicy = Literal["off", "crisis", "always"]
REVIEW_POLICIES: tuple[ReviewPolicy, ...] = ("off", "crisis", "always")
ReviewAction = Literal["approve", "edit", "replace"]


class ReviewRequest(BaseModel):
    """What the reviewer sees: the draft, the risk assessment and the resources."""

    turn: int
    draft: str = Field(description="The reply as it would be delivered.")
    message: str = Field(description="The drafted message, without the resources.")
    risk: RiskAssessment
    resources: list[Resource] = Field(default_factory=list)
    policy: ReviewPolicy


class ReviewDecision(BaseModel):
    """The reviewer's answer, sent back with `Command(resume=...)`."""

    action: ReviewAction
    response: str | None = Field(default=None, description="The new text (edit, replace).")

    @classmethod
    def parse(cls, value: Any) -> ReviewDecision:
        """Read a resume value: `"approve"` or `{"action": ..., "response": ...}`.

        Raises:
            InputError: the value is no decision, or an edit or replacement has no text.
        """
        try:
            decision = cls.model_validate({"action": value} if isinstance(value, str) else value)
        except ValidationError:
            raise InputError(
                "A review decision is 'approve', {'action': 'edit', 'response': text} or "
                f"{{'action': 'replace', 'response': text}}; got {type(value).__name__}."
            ) from None
        if decision.action != "approve" and not (decision.response or "").strip():
            raise InputError(f"A review decision {decision.action!r} needs a non-empty response.")
        return decision


class ReviewRecord(BaseModel):
    """What the reviewer decided for one turn, kept in the state."""

    turn: int
    policy: ReviewPolicy
    action: ReviewAction
    changed: bool = Field(description="The delivered reply differs from the draft.")


def reviewed_reply(message: str, appendix: str, decision: ReviewDecision) -> str:
    """The reply to deliver after `decision`: the message, then any resources."""
    if decision.action == "replace":
        return (decision.response or "").strip()
    if decision.action == "edit":
        message = (decision.response or "").strip()
    return joined_reply(message, appendix)


def joined_reply(message: str, appendix: str) -> str:
    """A drafted message and its appendix (crisis resources), as the client reads them."""
    return "\n\n".join(part for part in (message, appendix) if part)


def needs_review(policy: ReviewPolicy, *, crisis_turn: bool) -> bool:
    """Whether a turn pauses for a reviewer before its reply reaches the client."""
    return policy == "always" or (policy == "crisis" and crisis_turn)


def review_request(
    *,
    turn: int,
    message: str,
    appendix: str,
    risk: RiskAssessment,
    resources: list[Resource],
    policy: ReviewPolicy,
) -> ReviewRequest:
    """What the reviewer of turn `turn` sees: the reply as drafted, its parts, the risk."""
    return ReviewRequest(
        turn=turn,
        draft=joined_reply(message, appendix),
        message=message,
        risk=risk,
        resources=resources if appendix else [],
        policy=policy,
    )


def review_record(request: ReviewRequest, decision: ReviewDecision, reply: str) -> ReviewRecord:
    """What is kept of the reviewer's `decision` on `request`, `reply` being delivered."""
    return ReviewRecord(
        turn=request.turn,
        policy=request.policy,
        action=decision.action,
        changed=reply != request.draft,
    )
