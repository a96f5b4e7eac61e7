"""Split PsyGUARD's validation set into train, dev and holdout, once and reproducibly.

Usage: python -m training.psyguard_split [PATH]  (default: ../shared/data/psyguard/valid.json)

Each message goes to a part by the SHA-256 of its PsyGUARD `idx`, so the split never depends
on file order or on a random seed: 60% train (the classifier learns from it), 20% dev (the
thresholds are set on it), 20% holdout (measured once, never tuned on). PsyGUARD's own test
split is the team's held-out measure and is never read here.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent / "data" / "psyguard"
DEFAULT_SOURCE = Path(__file__).parents[2] / "shared" / "data" / "psyguard" / "valid.json"
PARTS = (("train", 60), ("dev", 20), ("holdout", 20))  # percent of messages per part
# The labels that mean the writer's own risk (see the data's README); any of them is risk.
SELF_RISK = frozenset(
    {"主动自杀意图", "被动自杀意图", "自杀计划", "自杀准备行为", "自杀未遂", "自伤意图", "自伤行为"}
)
PASSIVE = "被动自杀意图"
AMBIGUOUS = "关于自杀的探索"  # talk about suicide: whose and when is not labelled, so not used


def is_risk(labels: list[str]) -> bool | None:
    """Risk, no risk, or None for a message whose only label is ambiguous talk about suicide."""
    if SELF_RISK.intersection(labels):
        return True
    return None if labels == [AMBIGUOUS] else False


def read_part(name: str) -> list[dict[str, Any]]:
    """The messages of one part (`train`, `dev` or `holdout`) as written by `main`."""
    path = HERE / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def part_of(idx: object) -> str:
    """The part a message with PsyGUARD id `idx` belongs to."""
    bucket = int(hashlib.sha256(str(idx).encode()).hexdigest(), 16) % 100
    for name, share in PARTS:
        if bucket < share:
            return name
        bucket -= share
    raise AssertionError("the parts' shares add up to 100")


def main(source: Path) -> None:
    """Write `train.jsonl`, `dev.jsonl` and `holdout.jsonl` beside this script's data."""
    items = json.loads(source.read_text("utf-8"))
    parts: dict[str, list[str]] = {name: [] for name, _ in PARTS}
    for item in items:
        row = {key: item[key] for key in ("idx", "text", "labels", "data_source")}
        parts[part_of(item["idx"])].append(json.dumps(row, ensure_ascii=False))
    for name, rows in parts.items():
        (HERE / f"{name}.jsonl").write_text("\n".join(rows) + "\n", "utf-8")
        print(f"{name}: {len(rows)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)
