"""Goal 1: framework overhead of a turn, with a model that answers in no time."""

from __future__ import annotations

import time
from typing import Any

from bench.dialogues import dialogue
from emostage import EmoStage
from emostage.testing import ScriptedChatModel


def framework_overhead(turns: int) -> dict[str, Any]:
    """Milliseconds per full turn, against the same model calls made directly."""
    model = ScriptedChatModel()
    stage = EmoStage(model)
    history = dialogue(30)
    for _ in range(20):  # warm caches and the thread pool
        stage.respond(history)
    started = time.perf_counter()
    for _ in range(turns):
        stage.respond(history)
    turn_ms = (time.perf_counter() - started) / turns * 1000

    calls = [messages for _, messages in model.calls[-3:]]  # one turn's three calls
    started = time.perf_counter()
    for _ in range(turns):
        for messages in calls:
            model.invoke(messages)
    direct_ms = (time.perf_counter() - started) / turns * 1000
    return {
        "turn_ms": round(turn_ms, 2),
        "direct_ms": round(direct_ms, 2),
        "overhead_ms": round(turn_ms - direct_ms, 2),
        "model_calls": len(calls),
    }
