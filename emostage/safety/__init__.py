"""Crisis screening: a multilingual screen (lexicon and learned classifier), and resources.

The screen needs no language model. It aims at recall: a person who mentions suicide, self-harm or
danger from or to someone must never get a routine reply. It is a safety net, not a
diagnosis; see the README's Safety section for what it does and does not do.

| module        | what it owns                                                        |
|---------------|---------------------------------------------------------------------|
| `screen`      | the screen: every lexicon and the classifier on every message       |
| `classifier`  | the learned screen: char n-gram logistic regression, scored offline |
| `assessment`  | what an assessment says, and how two combine (`raised_by`)          |
| `decision`    | the crisis decision: `settle_risk`, which every turn goes through   |
| `watch`       | the safety follow-up that persists within a session                |
| `guard`       | the optional guard model's adapters                                 |
| `resources`   | crisis resources by locale, with their sources                      |
"""

from emostage.safety.assessment import (
    RISK_ORDER,
    RiskAssessment,
    RiskLevel,
    RiskSubject,
    RiskTimeframe,
)
from emostage.safety.decision import ModelReading, Settled, settle_risk
from emostage.safety.resources import Resource, ResourceTable, crisis_resources
from emostage.safety.screen import screen_risk

__all__ = [
    "RISK_ORDER",
    "ModelReading",
    "Resource",
    "ResourceTable",
    "RiskAssessment",
    "RiskLevel",
    "RiskSubject",
    "RiskTimeframe",
    "Settled",
    "crisis_resources",
    "screen_risk",
    "settle_risk",
]
