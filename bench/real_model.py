"""Goals 3 and 4: the embedded model on CPU, and prompt size as a session grows."""

from __future__ import annotations

import statistics
from typing import Any

from langchain_core.callbacks import get_usage_metadata_callback

from bench.dialogues import dialogue
from bench.latency import timed_turn
from emostage import EmoStage
from emostage.testing import ScriptedChatModel
from emostage.testing.server_speed import approx_tokens

# (name, per-turn settings)
REAL_LAYOUTS: list[tuple[str, dict[str, Any]]] = [
    ("baseline", {"mode": "baseline"}),
    ("EmoStage as built", {}),
]


def embedded_model(turns: int, max_tokens: int) -> dict[str, dict[str, float]]:
    """Per-turn wall time, first text, calls, and tokens evaluated, reused and decoded, on CPU.

    The reply is capped at `max_tokens`; each analysis at its schema's bound, so no turn is
    cut off and asked again (`retries` counts the calls beyond one per node). The tiny base
    model fills the analysis strings with filler, so how much it decodes varies with the
    prompt: `decoded_per_turn` tells the layouts' decoding apart from their prompt work.
    """
    stage = EmoStage(backend="llamacpp", max_tokens=max_tokens, temperature=0.0)
    stage.respond(dialogue(31))  # load the model once, outside the timings
    found = {}
    for name, settings in REAL_LAYOUTS:
        runs, prompt, reused, decoded = [], 0, 0, 0
        for turn in range(turns):
            with get_usage_metadata_callback() as usage:
                runs.append(timed_turn(stage, dialogue(31 + 2 * turn), **settings))
            for counts in usage.usage_metadata.values():
                prompt += counts["input_tokens"]
                reused += counts.get("input_token_details", {}).get("cache_read", 0)
                decoded += counts["output_tokens"]
        nodes = 1 if settings.get("mode") == "baseline" else 3
        found[name] = {
            "turn_s": round(statistics.median(r["turn_s"] for r in runs), 2),
            "first_text_s": round(statistics.median(r["first_text_s"] for r in runs), 2),
            "retries": sum(r["calls"] - nodes for r in runs),
            "prompt_tokens_per_turn": round(prompt / turns),
            "evaluated_per_turn": round((prompt - reused) / turns),
            "reused_per_turn": round(reused / turns),
            "decoded_per_turn": round(decoded / turns),
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
