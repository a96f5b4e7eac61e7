"""Crisis turns with no model: the server refuses, and a crisis still gets the fixed reply.

(Everything else about crisis turns: tests/unit/test_safety.py.)
"""

from __future__ import annotations

from typing import Any

import pytest

from emostage import EmoStage, ModelUnavailableError
from emostage.testing.ollama_server import FakeOllama

from ..unit.test_safety import CRISIS, NUMBERS


@pytest.mark.parametrize("language", CRISIS)
def test_without_a_model_a_crisis_still_gets_the_fixed_reply(language: str) -> None:
    with FakeOllama(fault="refuse") as server:
        fast: dict[str, Any] = {"ollama_host": server.url, "model_attempts": 1}
        reply = EmoStage(**fast).respond([{"role": "client", "content": CRISIS[language]}])
        with pytest.raises(ModelUnavailableError):
            EmoStage(**fast).respond([{"role": "client", "content": "Work was long today."}])
    assert reply.risk.level == "crisis"
    assert reply.language == language
    assert any("draft_crisis: model unavailable" in f for f in reply.diagnostics.fallbacks)
    for number in NUMBERS[language]:
        assert number in reply.response
