"""Run every benchmark and write bench/results.md and bench/results.png.

Usage: python -m bench [--quick] [--only GOAL] [--out DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.analysis_tokens import analysis_tokens
from bench.concurrency import concurrent_turns
from bench.latency import eval_throughput, turn_latency
from bench.overhead import framework_overhead
from bench.real_model import context_growth, embedded_model
from bench.report import write_results
from emostage.testing.server_speed import ServerSpeed

# A 7B model on a consumer GPU through Ollama, roughly; ratios depend on output lengths.
FULL_SPEED = ServerSpeed(prefill_tps=2000, decode_tps=50, slots=4)
# Ten times faster, so the smoke run takes seconds; the ratios barely change.
QUICK_SPEED = ServerSpeed(prefill_tps=20000, decode_tps=500, slots=4)


GOALS: dict[str, Callable[[bool, ServerSpeed, Path], Any]] = {
    "overhead": lambda quick, _, __: framework_overhead(turns=30 if quick else 300),
    "tokens": lambda _, __, ___: analysis_tokens(),
    "latency": lambda quick, speed, _: turn_latency(speed, turns=2 if quick else 6),
    "real": lambda quick, _, __: embedded_model(
        turns=1 if quick else 5, max_tokens=16 if quick else 48
    ),
    "growth": lambda quick, _, __: context_growth([30, 90] if quick else [30, 90, 180, 360]),
    "throughput": lambda quick, speed, scratch: eval_throughput(
        speed, [1, 2] if quick else [1, 2, 4, 8], 4 if quick else 16, scratch
    ),
    "concurrency": lambda quick, __, ___: concurrent_turns(50, 1.0, rounds=1 if quick else 3),
}


def main() -> None:
    """Parse the options, run, write."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (CI)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument(
        "--only",
        choices=list(GOALS),
        help="rerun one goal; the others are kept from the results.json in --out",
    )
    options = parser.parse_args()
    quick = options.quick
    speed = QUICK_SPEED if quick else FULL_SPEED
    saved = options.out / "results.json"
    results = json.loads(saved.read_text("utf-8")) if options.only else {}
    if not options.only:  # a rerun goal keeps the saved run's kind and server speed
        results |= {"quick": quick, "speed": dataclasses.asdict(speed)}
    with tempfile.TemporaryDirectory() as scratch:
        for goal in [options.only] if options.only else GOALS:
            results[goal] = GOALS[goal](quick, speed, Path(scratch))
    page, chart = write_results(results, options.out)
    saved.write_text(json.dumps(results, indent=2, default=str))
    print(page.read_text("utf-8"))
    print(f"wrote {page} and {chart}")


if __name__ == "__main__":
    main()
