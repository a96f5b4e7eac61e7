"""The crisis decision: how the layers' readings combine, and when a turn is a crisis turn.

One turn is read by up to three layers: the deterministic screen (`screen.py`), the
model's own reading in its perspective, and an optional guard model (`guard.py`). They
combine upward only (`RiskAssessment.raised_by`): a layer can raise the level, never
lower it. A session that had a crisis keeps following up on safety (`watch.py`). A turn
gets the crisis strategy when the settled risk is `crisis` or a follow-up is open,
whatever the phase or mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from emostage.safety.assessment import RiskAssessment, RiskLevel, RiskSubject, RiskTimeframe
from emostage.safety.watch import SafetyWatch, followed_up, seeded_watch


@dataclass(frozen=True)
class ModelReading:
    """What the analysis model judged about danger, as its perspective reports it."""

    level: RiskLevel = "none"
    subject: RiskSubject = "unclear"
    timeframe: RiskTimeframe = "current"
    safety_answered: str | None = None  # why the client is judged safe now, if so

    def assessment(self) -> RiskAssessment:
        """The reading as an assessment; a past, resolved event is only `concern`."""
        level = self.level
        if level == "crisis" and self.timeframe == "past":
            level = "concern"
        return RiskAssessment(
            level=level,
            reasons=["model judgment"] if level != "none" else [],
            subject=self.subject,
            timeframe=self.timeframe,
        )


@dataclass(frozen=True)
class Settled:
    """This turn's risk, the session's safety follow-up, and whether it is a crisis turn."""

    risk: RiskAssessment
    watch: SafetyWatch | None

    @property
    def crisis(self) -> bool:
        """The turn gets the crisis strategy: a crisis now, or an open safety follow-up."""
        return self.risk.level == "crisis" or (self.watch is not None and self.watch.open)


def settle_risk(
    screened: RiskAssessment,
    *,
    client_turns: Sequence[str],
    watch: SafetyWatch | None,
    first_turn: bool,
    quiet_turns: int,
    model: ModelReading | None = None,
    guard: RiskAssessment | None = None,
) -> Settled:
    """Combine the layers' readings of the client's latest turn and follow up on safety.

    Args:
        screened: The deterministic screen's assessment of the latest client turn.
        client_turns: Every client turn so far, the latest last.
        watch: The session's safety follow-up before this turn, if any.
        first_turn: True on a thread's first turn (or a call with no thread): the
            dialogue it brings may hold a crisis in its earlier client turns.
        quiet_turns: Follow-up turns without any sign of risk; the next one ends it.
        model: The analysis model's reading, when it ran.
        guard: The guard model's verdict, when one is set.
    """
    risk = screened
    if guard is not None:
        risk = risk.raised_by(guard)
    if model is not None:
        risk = risk.raised_by(model.assessment())
    if watch is None and first_turn:
        watch = seeded_watch(client_turns[:-1], quiet_turns)
    watch, risk = followed_up(
        watch,
        risk,
        len(client_turns),
        safety_answered=model.safety_answered if model else None,
        quiet_turns=quiet_turns,
    )
    return Settled(risk, watch)
