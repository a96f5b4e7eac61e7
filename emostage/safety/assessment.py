"""What a risk assessment says: how much danger, about whom, and when."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

RiskLevel = Literal["none", "concern", "crisis"]
RiskSubject = Literal["self", "other", "unclear"]
RiskTimeframe = Literal["current", "past"]
RISK_ORDER: dict[RiskLevel, int] = {"none": 0, "concern": 1, "crisis": 2}


class RiskAssessment(BaseModel):
    """How much danger a turn signals, whose, and why (category names, never client text)."""

    level: RiskLevel = "none"
    reasons: list[str] = Field(default_factory=list)
    subject: RiskSubject = Field(
        default="unclear",
        description="Whose risk: the client's own, another person's, or not known.",
    )
    timeframe: RiskTimeframe = Field(
        default="current", description="`past`: a resolved event with no current sign."
    )
    carried_from_turn: int | None = Field(
        default=None,
        description="Set when the level is carried over from an earlier crisis turn (its number).",
    )

    def raised_by(self, other: RiskAssessment) -> RiskAssessment:
        """Combine upward: the higher level wins, and both keep their reasons.

        Only layers that found something vote on whose risk it is and when: the client's
        own (`self`) wins over another person's, and a current sign over a past one, so a
        combination never makes a reply less protective than either layer alone.
        """
        level = max(self.level, other.level, key=RISK_ORDER.__getitem__)
        voters = [a for a in (self, other) if a.level != "none"] or [self]
        subjects = {a.subject for a in voters}
        subject: RiskSubject = (
            "self" if "self" in subjects else "other" if "other" in subjects else "unclear"
        )
        timeframe: RiskTimeframe = (
            "current" if any(a.timeframe == "current" for a in voters) else "past"
        )
        return RiskAssessment(
            level=level,
            reasons=list(dict.fromkeys(self.reasons + other.reasons)),
            subject=subject,
            timeframe=timeframe,
            carried_from_turn=self.carried_from_turn or other.carried_from_turn,
        )
