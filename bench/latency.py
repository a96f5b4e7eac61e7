"""Goals 2 and 5: turn latency against the baseline, and evaluation throughput.

Both run on a simulated model server: the Ollama protocol, with prefill and decode rates
and parallel slots (`emostage.testing.server_speed`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.dialogues import dialogue
from bench.outputs import typical_model
from emostage import EmoStage, ReplyDelta
from emostage.context import DEFAULT_MODEL
from emostage.evaluation.examples import load_examples
from emostage.evaluation.pipeline import generate_replies
from emostage.evaluation.rundir import RunDir
from emostage.testing.ollama_server import FakeOllama
from emostage.testing.server_speed import ServerSpeed

QUIET = Console(quiet=True)

SMALL_MODEL = "qwen2.5:1.5b"
GUARD_MODEL = "llama-guard3:1b"

# (name, EmoStage options, per-turn settings)
LAYOUTS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("baseline", {}, {"mode": "baseline"}),
    ("sequential analysis", {"analysis": "sequential"}, {}),
    ("EmoStage as built", {}, {}),
    ("EmoStage, small analysis model", {}, {"analysis_model": SMALL_MODEL}),
    ("EmoStage + guard model", {}, {"safety_model": GUARD_MODEL}),
    ("EmoStage, 3 candidates", {}, {"candidates": 3}),
]


def timed_turn(stage: EmoStage, history: list[Any], **settings: Any) -> dict[str, Any]:
    """One turn's seconds, to its first text shown and in all, and its model calls."""
    started = time.perf_counter()
    first: list[float] = []

    def on_text(_: ReplyDelta) -> None:
        if not first:
            first.append(time.perf_counter() - started)

    reply = stage.respond(history, on_text=on_text, **settings)
    total = time.perf_counter() - started
    return {
        "turn_s": total,
        "first_text_s": first[0] if first else total,
        "calls": sum(n.model_calls for n in reply.diagnostics.nodes),
        "fallbacks": len(reply.diagnostics.fallbacks),
    }


def turn_latency(speed: ServerSpeed, turns: int) -> dict[str, dict[str, float]]:
    """Median seconds per turn and to the reply's first text shown, per layout.

    Each layout gets a fresh server and plays consecutive turns of one session, so the
    server's prefix cache behaves as it would in a live chat. The server also hosts a small
    analysis model, three times as fast as the drafting one (as a 1.5B model is to a 7B),
    and a guard model as fast as that. The reply is shown as it is written (sentence by
    sentence), so its first text comes before the turn ends.
    """
    small = dataclasses.replace(
        speed, prefill_tps=3 * speed.prefill_tps, decode_tps=3 * speed.decode_tps
    )
    speeds = {DEFAULT_MODEL: speed, SMALL_MODEL: small, GUARD_MODEL: small}
    found = {}
    for name, options, settings in LAYOUTS:
        with FakeOllama(typical_model(), models=tuple(speeds), speed=speeds) as server:
            stage = EmoStage(ollama_host=server.url, **options)
            runs = [timed_turn(stage, dialogue(31 + 2 * turn), **settings) for turn in range(turns)]
            prompt = sum(t.prompt_tokens for t, _ in server.served)
            cached = sum(t.cached_tokens for t, _ in server.served)
        turn_s = statistics.median(r["turn_s"] for r in runs)
        first_s = statistics.median(r["first_text_s"] for r in runs)
        found[name] = {
            "turn_s": round(turn_s, 3),
            "first_text_s": round(first_s, 3),
            "first_text_share": round(first_s / turn_s, 2),
            "calls_per_turn": round(len(server.served) / turns, 2),
            "prompt_tokens_per_turn": round(prompt / turns),
            "cached_share": round(cached / prompt, 3) if prompt else 0.0,
        }
    base = found["baseline"]["turn_s"]
    for row in found.values():
        row["ratio"] = round(row["turn_s"] / base, 2)
    return found


def eval_throughput(
    speed: ServerSpeed, levels: list[int], examples: int, workdir: Path
) -> dict[str, dict[str, float | str]]:
    """Replies per second of `emostage eval run` at each concurrency, per system.

    The baseline makes one call per reply, so its scaling shows the harness itself; an
    EmoStage reply already keeps two slots busy during its analysis, so it fills the
    server's slots at a lower concurrency.
    """
    data = Path(__file__).parents[1] / "tests" / "data" / "eval"
    sample = load_examples(data, "en", n=examples, seed=0).examples[:examples]
    found: dict[str, dict[str, float | str]] = {}
    for system in ("baseline", "emostage"):
        first = 0.0
        for level in levels:
            run = RunDir(workdir / f"throughput_{system}_{level}")
            for example in sample:
                run.examples.append({"key": example.id, **example.model_dump(mode="json")})
            with FakeOllama(typical_model(), speed=speed) as server:
                stage = EmoStage(ollama_host=server.url)
                started = time.perf_counter()
                step = generate_replies(run, stage, [system], concurrency=level, console=QUIET)
                result = asyncio.run(step)
                seconds = time.perf_counter() - started
            per_s = result.done / seconds
            first = first or per_s
            found[f"{system}, concurrency {level}"] = {
                "replies": result.done,
                "per_s": round(per_s, 3),
                "speedup": round(per_s / first, 2),
                "goal": round(0.8 * level, 2) if level <= speed.slots else "–",
            }
    return found
