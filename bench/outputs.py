"""What the simulated model answers: outputs of the length a 7B instruct model writes.

The lengths matter, not the words: a turn's time on a real server is mostly decoding.
The reply is about 50 tokens (two or three chat sentences); the analyses are what our
schemas ask for, written tersely.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage

from emostage.testing import ScriptedChatModel

PHASE: dict[str, Any] = {
    "rationale": "Still describing the problem and how it feels.",
    "phase": "exploration",
}
PERSPECTIVE: dict[str, Any] = {
    "emotions": [{"name": "overwhelmed", "intensity": 4}, {"name": "anxious", "intensity": 3}],
    "situation": "Work keeps piling up; the manager adds tasks.",
    "thoughts": "Saying no would let everyone down.",
    "support_needs": ["being_heard", "validation"],
    "unspoken_needs": "Permission to set limits.",
    "risk": "none",
    "risk_reason": "",
    "risk_subject": "unclear",
    "risk_timeframe": "current",
    "safety_answered": False,
    "safety_reason": "",
}
REPLY = (
    "It sounds like the work just keeps coming, and lying awake with those deadlines is "
    "wearing you down. It makes sense to feel stuck when saying no feels impossible. "
    "What feels hardest about telling your manager it's too much?"
)


GUARD_VERDICT = "safe"


def _text(messages: list[BaseMessage]) -> str:
    # A guard model gets the client's message alone and answers with its short verdict.
    return GUARD_VERDICT if len(messages) == 1 else REPLY


def typical_model() -> ScriptedChatModel:
    """A scripted model that always answers with the outputs above."""
    return ScriptedChatModel(
        defaults={"text": _text, "PhaseAssessment": PHASE, "Perspective": PERSPECTIVE}
    )
