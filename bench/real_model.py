"""Goals 3 and 4: the embedded model on CPU, and prompt size as a session grows."""

from __future__ import annotations

import statistics
import time
from typing import Any

from langchain_core.callbacks import get_usage_metadata_callback

from bench.dialogues import dialogue
from emostage import EmoStage
from emostage.testing import ScriptedChatModel
from emostage.testing.server_speed import approx_tokens

# (name, per-turn settings)
REAL_LAYOUTS: list[tuple[str, dict[str, Any]]] = [
    ("baseline", {"mode": "baseline"}),
    ("EmoStage, shared prefix", {}),
    ("EmoStage, no shared prefix", {"shared_prefix": False}),
]


def embedded_model(turns: int, max_tokens: int) -> dict[str, dict[str, float]]:
    """Per-turn wall time and prompt tokens evaluated and reused, per layout, on CPU.

    The tiny base model writes until `max_tokens`, so every layout decodes alike and the
    difference is the prompt work.
    """
    stage = EmoStage(backend="llamacpp", max_tokens=max_tokens, temperature=0.0)
    stage.respond(dialogue(31))  # load the model once, outside the timings
    found = {}
    for name, settings in REAL_LAYOUTS:
        seconds, prompt, reused = [], 0, 0
        for turn in range(turns):
            with get_usage_metadata_callback() as usage:
                started = time.perf_counter()
                stage.respond(dialogue(31 + 2 * turn), **settings)
                seconds.append(time.perf_counter() - started)
            for counts in usage.usage_metadata.values():
                prompt += counts["input_tokens"]
                reused += counts.get("input_token_details", {}).get("cache_read", 0)
        found[name] = {
            "turn_s": round(statistics.median(seconds), 2),
            "prompt_tokens_per_turn": round(prompt / turns),
            "evaluated_per_turn": round((prompt - reused) / turns),
            "reused_per_turn": round(reused / turns),
        }
    base = found["baseline"]["turn_s"]
    for row in found.values():
        row["ratio"] = round(row["turn_s"] / base, 2)
    return found


def context_growth(lengths: list[int]) -> dict[int, dict[str, int]]:
    """Prompt tokens of one EmoStage turn at each dialogue length, windowed and not."""
    found = {}
    for length in lengths:
        row = {}
        layouts: list[tuple[str, dict[str, Any]]] = [
            ("windowed", {}),
            ("full history", {"recent_turns": 10**6}),
        ]
        for name, settings in layouts:
            model = ScriptedChatModel()
            EmoStage(model).respond(dialogue(length), **settings)
            text = "\n".join(m.text for _, messages in model.calls for m in messages)
            row[name] = len(approx_tokens(text))
        found[length] = row
    return found
