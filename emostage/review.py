"""A person in the loop: a reviewer approves, edits or replaces a reply before delivery.

With `review="crisis"` the graph pauses (LangGraph `interrupt()`) before a crisis reply
reaches the client; with `review="always"`, before every reply. The pause carries
LangChain's human-in-the-loop request (`HITLRequest` of `langchain`'s HITL middleware: one
action, `send_reply`, whose args are the message and the crisis resources), so clients
that draw it (agent-chat-ui) show approve, edit and reject controls; EmoStage's own
`ReviewRequest` rides along under `"emostage"`. The run goes on with `Command(resume=...)`:

- LangChain's `{"decisions": [decision]}`: `approve`; `edit` (a new message, resources kept;
  with the resources edited too, the whole reply as written); `respond` or `reject` with a
  message (the reviewer's own message, resources kept);
- or EmoStage's own: `"approve"`, `{"action": "edit" | "own" | "replace", "response": ...}`
  (`replace`: the whole reply, verbatim).

A decision is checked against the waiting turn before its run starts, so a wrong one is
refused with nothing stored (`emostage.paused`). It is kept in the state as a `ReviewRecord`.

This module is the one home of review: when a turn pauses (`needs_review`), what the
reviewer sees (`review_request`, `review_interrupt`), what a decision may be
(`ReviewDecision`), what is delivered after it (`reviewed_reply`) and what is kept of it
(`ReviewRecord`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, StrictInt, TypeAdapter, ValidationError

from emostage.errors import InputError
from emostage.safety import Resource, RiskAssessment

ReviewPolicy = Literal["off", "crisis", "always"]
REVIEW_POLICIES: tuple[ReviewPolicy, ...] = ("off", "crisis", "always")
ReviewAction = Literal["approve", "edit", "own", "replace", "pick"]
SEND_REPLY = "send_reply"  # the one action a review pause asks about
EMOSTAGE_KEY = "emostage"  # where the pause keeps EmoStage's own `ReviewRequest`

if TYPE_CHECKING:
    from langchain.agents.middleware.human_in_the_loop import Decision, HITLRequest


class ReviewRequest(BaseModel):
    """What the reviewer sees: the draft, the risk assessment and the resources."""

    turn: int
    draft: str = Field(description="The reply as it would be delivered.")
    message: str = Field(description="The drafted message, without the resources.")
    risk: RiskAssessment
    resources: list[Resource] = Field(default_factory=list)
    policy: ReviewPolicy
    candidates: list[str] = Field(
        default_factory=list, description="Every drafted message, when the turn drafted several."
    )

    @property
    def appendix(self) -> str:
        """What follows the message in the draft: the crisis resources, as shown."""
        return self.draft.removeprefix(self.message).strip()


class ReviewDecision(BaseModel):
    """The reviewer's answer, sent back with `Command(resume=...)`."""

    action: ReviewAction
    response: str | None = Field(default=None, description="The new text (edit, own, replace).")
    candidate: StrictInt | None = Field(
        default=None, ge=1, description="Which draft to send (pick), from 1."
    )

    @classmethod
    def parse(cls, value: Any, appendix: str = "", message: str = "") -> ReviewDecision:
        """Read a resume value: LangChain's `{"decisions": [...]}`, or EmoStage's own.

        Args:
            value: The resume value.
            appendix: The paused reply's crisis resources, as the `send_reply` action
                showed them: an edit that changes them becomes a whole-reply replacement.
            message: The drafted message it showed: an edit that keeps it but changes the
                `candidate` number picks that candidate.

        Raises:
            InputError: the value is no decision, or a decision other than approve has no
                text.
        """
        if isinstance(value, dict) and "decisions" in value:
            decision = _from_langchain(value, appendix, message)
        else:
            try:
                decision = cls.model_validate(
                    {"action": value} if isinstance(value, str) else value
                )
            except ValidationError:
                if isinstance(value, dict) and value.get("action") == "pick":
                    number = str(value.get("candidate"))[:20]
                    raise InputError(
                        f"A candidate is picked by its number, from 1, not {number!r}."
                    ) from None
                raise InputError(
                    "A review decision is LangChain's {'decisions': [...]}, 'approve', "
                    "{'action': 'edit' | 'own' | 'replace', 'response': text} or "
                    "{'action': 'pick', 'candidate': n} (n a whole number from 1); got "
                    f"{_shown(value)}."
                ) from None
        if decision.action == "pick":
            if decision.candidate is None:
                raise InputError("A review decision 'pick' needs the candidate's number.")
        elif decision.action != "approve" and not (decision.response or "").strip():
            raise InputError(f"A review decision {decision.action!r} needs a non-empty response.")
        return decision


def _from_langchain(value: dict[str, Any], appendix: str, message: str) -> ReviewDecision:
    """EmoStage's decision for LangChain's `HITLResponse`, checked against its own types."""
    try:
        (decision,) = _hitl_response().validate_python(value)["decisions"]
    except (ValidationError, ValueError):
        raise InputError(
            "A LangChain review response has one decision: {'decisions': [{'type': 'approve'}]}"
            ", an 'edit' with its edited_action, or 'respond' or 'reject' with a message."
        ) from None
    return _mapped(decision, appendix, message)


def _mapped(decision: Decision, appendix: str, shown: str) -> ReviewDecision:
    if decision["type"] == "approve":
        return ReviewDecision(action="approve")
    if decision["type"] == "edit":
        if decision["edited_action"]["name"] != SEND_REPLY:
            raise InputError(f"A review edit is of the {SEND_REPLY!r} action, its only one.")
        args = decision["edited_action"]["args"]
        message = str(args.get("message", shown))  # an edit of other args keeps the message
        resources = str(args.get("resources", appendix))
        if resources.strip() != appendix.strip():  # the reviewer rewrote the whole reply
            return ReviewDecision(action="replace", response=joined_reply(message, resources))
        number = str(args.get("candidate", 1)).strip()
        if message.strip() == shown.strip() and number != "1":  # another candidate, as it is
            if not number.isdigit() or int(number) < 1:
                raise InputError(f"A candidate is picked by its number, from 1, not {number!r}.")
            return ReviewDecision(action="pick", candidate=int(number))
        return ReviewDecision(action="edit", response=message)
    # reject and respond: the reviewer writes the message; the resources still follow.
    if not (decision.get("message") or "").strip():
        raise InputError(
            f"A review decision {decision['type']!r} needs your own reply as its message: "
            "the client would get none."
        )
    return ReviewDecision(action="own", response=decision.get("message"))


def _shown(value: Any) -> str:
    """A bad decision, named in its error line: its action, or its type."""
    if isinstance(value, dict) and isinstance(value.get("action"), str):
        return f"action {value['action'][:40]!r}"
    if isinstance(value, str):  # the reviewer's own word, such as a misspelt action
        return repr(value[:40])
    return type(value).__name__


@cache
def _hitl_response() -> TypeAdapter[Any]:
    # Imported when first needed: langchain's agents package takes 80 ms to import.
    from langchain.agents.middleware.human_in_the_loop import HITLResponse

    return TypeAdapter(HITLResponse)


class ReviewRecord(BaseModel):
    """What the reviewer decided for one turn, kept in the state."""

    turn: int
    policy: ReviewPolicy
    action: ReviewAction
    changed: bool = Field(description="The delivered reply differs from the draft.")


def reviewed_reply(
    message: str, appendix: str, decision: ReviewDecision, candidates: Sequence[str] = ()
) -> str:
    """The reply to deliver after `decision`: the message, then any resources.

    Raises:
        InputError: a pick names no candidate of this turn.
    """
    if decision.action == "replace":
        return (decision.response or "").strip()
    if decision.action in ("edit", "own"):
        message = (decision.response or "").strip()
    if decision.action == "pick":
        drafts = list(candidates) or [message]
        if not 1 <= (decision.candidate or 0) <= len(drafts):
            if len(drafts) == 1:
                raise InputError(
                    f"This turn drafted one reply: there is no candidate {decision.candidate}."
                )
            raise InputError(f"This turn has candidates 1 to {len(drafts)}; pick one of them.")
        message = drafts[(decision.candidate or 1) - 1]
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
    candidates: Sequence[str] = (),
) -> ReviewRequest:
    """What the reviewer of turn `turn` sees: the reply as drafted, its parts, the risk."""
    return ReviewRequest(
        turn=turn,
        draft=joined_reply(message, appendix),
        message=message,
        risk=risk,
        resources=resources if appendix else [],
        policy=policy,
        candidates=list(candidates),
    )


def review_record(request: ReviewRequest, decision: ReviewDecision, reply: str) -> ReviewRecord:
    """What is kept of the reviewer's `decision` on `request`, `reply` being delivered."""
    return ReviewRecord(
        turn=request.turn,
        policy=request.policy,
        action=decision.action,
        changed=reply != request.draft,
    )


def review_interrupt(request: ReviewRequest) -> dict[str, Any]:
    """The value a review pause sends: LangChain's `HITLRequest`, and EmoStage's request."""
    args: dict[str, Any] = {"message": request.message}
    if request.draft != request.message:
        args["resources"] = request.draft[len(request.message) :].strip()
    others = ""
    if request.candidates:
        args["candidate"] = 1
        listed = " ".join(f"({n}) {text}" for n, text in enumerate(request.candidates, 1))
        others = f" Candidates: {listed} To send another as it is, edit candidate to its number."
    reasons = "; ".join(request.risk.reasons) or "none given"
    hitl: HITLRequest = {
        "action_requests": [
            {
                "name": SEND_REPLY,
                "args": args,
                "description": (
                    f"Reply to the client (turn {request.turn}, review policy "
                    f"{request.policy!r}). Risk: {request.risk.level} ({reasons}). Approve "
                    "sends it. Edit changes the message; the resources stay unless you edit "
                    "them too. Reject or respond with your own message: it is sent, with the "
                    "resources." + others
                ),
            }
        ],
        "review_configs": [
            {
                "action_name": SEND_REPLY,
                "allowed_decisions": ["approve", "edit", "reject", "respond"],
            }
        ],
    }
    return {**hitl, EMOSTAGE_KEY: request.model_dump(mode="json")}


def paused_request(value: Any) -> ReviewRequest:
    """The `ReviewRequest` of a review pause's interrupt value."""
    return ReviewRequest.model_validate(value[EMOSTAGE_KEY])
