"""The optional guard-model layer, against the project's Ollama test server.

(Without a server: tests/unit/test_guard.py.)
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from langchain_core.messages import BaseMessage

from emostage import EmoStage
from emostage.testing import ScriptedChatModel
from emostage.testing.ollama_server import FakeOllama

INDIRECT = "I have made my decision and I feel calm now."  # the screen finds nothing
DRAFT = "Thank you for telling me."


def server_answering(verdict: str) -> FakeOllama:
    """A test server whose guard model answers `verdict`, and the chat model `DRAFT`."""

    def answer(messages: Sequence[BaseMessage]) -> str:
        is_guard = len(messages) == 1  # the guard gets the client's message alone
        return verdict if is_guard else DRAFT

    model = ScriptedChatModel(replies=[answer] * 8)
    return FakeOllama(model, models=("qwen2.5:7b", "llama-guard3:1b", "qwen3guard-gen:0.6b"))


@pytest.mark.parametrize(
    ("guard", "verdict", "level"),
    [
        ("llama-guard3:1b", "unsafe\nS11", "crisis"),
        ("llama-guard3:1b", "safe", "none"),
        ("llama-guard3:1b", "unsafe\nS12", "none"),  # sexual content is not a danger signal
        ("qwen3guard-gen:0.6b", "Safety: Unsafe\nCategories: Suicide & Self-Harm", "crisis"),
        (
            "qwen3guard-gen:0.6b",
            "Safety: Controversial\nCategories: Suicide & Self-Harm",
            "concern",
        ),
        ("qwen3guard-gen:0.6b", "I cannot help with that.", "none"),  # unreadable: no finding
    ],
)
def test_the_guard_raises_the_level_through_a_real_http_round_trip(
    guard: str, verdict: str, level: str
) -> None:
    with server_answering(verdict) as server:
        stage = EmoStage(ollama_host=server.url, safety_model=guard, model_attempts=1)
        reply = stage.respond([{"role": "client", "content": INDIRECT}])
        guard_requests = [r for r in server.requests if r.get("model") == guard]
    assert reply.risk.level == level
    assert len(guard_requests) == 1
    assert [m["content"] for m in guard_requests[0]["messages"]] == [INDIRECT]
    assert ("draft_crisis" in {n.node for n in reply.diagnostics.nodes}) == (level == "crisis")


def test_the_guard_never_lowers_the_screen() -> None:
    with server_answering("safe") as server:
        stage = EmoStage(ollama_host=server.url, safety_model="llama-guard3:1b")
        reply = stage.respond([{"role": "client", "content": "I want to kill myself."}])
    assert reply.risk.level == "crisis"
