"""Crisis screening: a deterministic multilingual screen, and crisis resources.

The screen needs no model. It aims at recall: a person who mentions suicide, self-harm or
danger from or to someone must never get a routine reply. It is a safety net, not a
diagnosis; see the README's Safety section for what it does and does not do.
"""

from emostage.safety.assessment import (
    RISK_ORDER,
    RiskAssessment,
    RiskLevel,
    RiskSubject,
    RiskTimeframe,
)
from emostage.safety.resources import Resource, ResourceTable, crisis_resources
from emostage.safety.screen import screen_risk

__all__ = [
    "RISK_ORDER",
    "Resource",
    "ResourceTable",
    "RiskAssessment",
    "RiskLevel",
    "RiskSubject",
    "RiskTimeframe",
    "crisis_resources",
    "screen_risk",
]
