"""What the simulated model answers: outputs of the length a 7B instruct model writes.

The lengths matter, not the words: a turn's time on a real server is mostly decoding.
The reply is about 50 tokens (two or three chat sentences); the analyses are what our
schemas ask for, written tersely, in the compact encoding the prompts ask for
(`emostage.analysis`): short keys, keys at their default left out, JSON on one line.
`as_written_in_0_2` gives the same analysis as version 0.2 asked for it, to compare.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import BaseMessage
from pydantic import BaseModel

from emostage.testing import ScriptedChatModel

PHASE: dict[str, Any] = {
    "why": "Still describing the problem and how it feels.",
    "phase": "exploration",
}
PERSPECTIVE: dict[str, Any] = {
    "feel": [{"n": "overwhelmed", "i": 4}, {"n": "anxious", "i": 3}],
    "sit": "Work keeps piling up; the manager adds tasks.",
    "view": "Saying no would let everyone down.",
    "need": ["heard", "validate"],
    "unsaid": "Permission to set limits.",
    "risk": "none",
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


def written(answer: dict[str, Any]) -> str:
    """An analysis answer as the model writes it: compact JSON on one line."""
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":"))


def as_written_in_0_2(answer: dict[str, Any], schema: type[BaseModel]) -> str:
    """The same analysis as 0.2 asked for it: every key, by its full name, spaced."""
    return json.dumps(schema.model_validate(answer).model_dump(mode="json"), ensure_ascii=False)


def typical_model() -> ScriptedChatModel:
    """A scripted model that always answers with the outputs above."""
    return ScriptedChatModel(
        defaults={
            "text": _text,
            "PhaseAssessment": written(PHASE),
            "Perspective": written(PERSPECTIVE),
        }
    )
