"""Risk that persists within a session: after a crisis turn, the next turns stay watched.

A client who says they want to die and then "I don't know. Whatever." has not become safe.
After a crisis turn the session keeps a `SafetyWatch`: the next turns stay at least at
`concern`, carried over from the crisis turn, and the reply keeps following up on safety,
until the model judges that the client has answered the safety question (its reason is
recorded), or `quiet_turns` client turns in a row pass with no sign of risk.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

from pydantic import BaseModel, Field

from emostage.safety.assessment import RiskAssessment, RiskSubject
from emostage.safety.screen import screen_risk


class SafetyWatch(BaseModel):
    """The open (or last closed) safety follow-up of a session."""

    crisis_turn: int = Field(description="The client turn that raised the crisis.")
    subject: RiskSubject = "unclear"
    last_sign_turn: int = Field(description="The last client turn with any sign of risk.")
    closed_turn: int | None = None
    closed_because: str | None = Field(default=None, description="Why the follow-up ended.")

    @property
    def open(self) -> bool:
        """True while the session still follows up on safety."""
        return self.closed_turn is None


def seeded_watch(earlier_client_turns: Sequence[str], quiet_turns: int) -> SafetyWatch | None:
    """A watch for a thread seen for the first time, from its own earlier client turns.

    A caller that sends the whole dialogue every time (no checkpointer) gets the same
    carry-over as a thread: the deterministic screen of the last `quiet_turns` earlier
    client turns opens it. (Only a thread remembers the model's judgment that closed one.)
    """
    first = len(earlier_client_turns) - quiet_turns
    for number in range(len(earlier_client_turns), max(first, 0), -1):
        found = _screened_before(earlier_client_turns[number - 1])
        if found.level == "crisis":
            return SafetyWatch(crisis_turn=number, subject=found.subject, last_sign_turn=number)
    return None


# Earlier turns' screens, by a digest of their text (never the text itself): a caller that
# sends the whole dialogue every turn has them screened once, not on every turn after.
_EARLIER: OrderedDict[bytes, RiskAssessment] = OrderedDict()
_EARLIER_KEPT = 4096
_EARLIER_LOCK = threading.Lock()


def _screened_before(text: str) -> RiskAssessment:
    """`screen_risk(text)`, remembered for the turns after (the screen is deterministic)."""
    key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    with _EARLIER_LOCK:
        if (found := _EARLIER.get(key)) is not None:
            _EARLIER.move_to_end(key)
            return found
    found = screen_risk(text)
    with _EARLIER_LOCK:
        _EARLIER[key] = found
        if len(_EARLIER) > _EARLIER_KEPT:
            _EARLIER.popitem(last=False)
    return found


def followed_up(
    watch: SafetyWatch | None,
    risk: RiskAssessment,
    turn: int,
    *,
    safety_answered: str | None,
    quiet_turns: int,
) -> tuple[SafetyWatch | None, RiskAssessment]:
    """This turn's watch and risk, given the turn's own (combined) assessment.

    Args:
        watch: The session's watch before this turn, if any.
        risk: This turn's assessment by the screen and the model.
        turn: This turn's number (client turns so far).
        safety_answered: The model's reason for judging that the client answered the
            safety question and is safe now; None when it did not judge so.
        quiet_turns: Follow-up turns without any sign of risk; the next one ends it.
    """
    if risk.level == "crisis":
        return SafetyWatch(crisis_turn=turn, subject=risk.subject, last_sign_turn=turn), risk
    if watch is None or not watch.open:
        return watch, risk
    if risk.level != "none":
        watch = watch.model_copy(update={"last_sign_turn": turn})
    if safety_answered:
        closed = f"the client answered the safety question: {safety_answered}"
        return watch.model_copy(update={"closed_turn": turn, "closed_because": closed}), risk
    if turn - watch.last_sign_turn > quiet_turns:
        closed = f"{quiet_turns} client turns without a sign of risk"
        return watch.model_copy(update={"closed_turn": turn, "closed_because": closed}), risk
    carried = RiskAssessment(
        level="concern",
        reasons=[f"carried over from turn {watch.crisis_turn}"],
        subject=watch.subject,
        carried_from_turn=watch.crisis_turn,
    )
    return watch, risk.raised_by(carried)
