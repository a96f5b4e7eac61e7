"""Measure the deterministic risk screen on the project's labeled sets.

Dev set: tests/data/risk_dev.yaml plus the even-indexed lines of tests/data/risk_cases.yaml.
Held-out: the odd-indexed lines of risk_cases.yaml, never looked at while writing patterns.
Usage: python tests/risk_eval.py [LANG ...]   (languages whose dev misses to print)
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from emostage.safety import screen_risk

DATA = Path(__file__).parent / "data"


def load(name: str) -> dict[str, dict[str, list[str]]]:
    data: dict[str, dict[str, list[str]]] = yaml.safe_load((DATA / name).read_text("utf-8"))
    return data


def splits() -> dict[str, dict[str, tuple[list[str], list[str]]]]:
    """{split: {language: (crisis lines, negative lines)}}."""
    cases, dev = load("risk_cases.yaml"), load("risk_dev.yaml")
    return {
        "dev": {
            lang: (
                dev[lang]["crisis"] + cases[lang]["crisis"][0::2],
                dev[lang]["negative"] + cases[lang]["negative"][0::2],
            )
            for lang in cases
        },
        "held-out": {
            lang: (cases[lang]["crisis"][1::2], cases[lang]["negative"][1::2]) for lang in cases
        },
        "all cases": {lang: (cases[lang]["crisis"], cases[lang]["negative"]) for lang in cases},
    }


def rates(language: str, crisis: list[str], negative: list[str]) -> tuple[float, float]:
    """Recall on crisis lines and false-positive rate (crisis level) on negatives."""
    hits = sum(screen_risk(t, language).level == "crisis" for t in crisis)
    false = sum(screen_risk(t, language).level == "crisis" for t in negative)
    return hits / len(crisis), false / len(negative)


def main(show: list[str]) -> None:
    for split, languages in splits().items():
        for language, (crisis, negative) in languages.items():
            recall, fpr = rates(language, crisis, negative)
            counts = f"({len(crisis)} crisis, {len(negative)} negative)"
            print(f"{split:9} {language} recall {recall:.3f}  FPR {fpr:.3f}  {counts}")
            if split == "dev" and language in show:
                for text in crisis:
                    if screen_risk(text, language).level != "crisis":
                        print("   MISS:", text)
                for text in negative:
                    if (r := screen_risk(text, language)).level == "crisis":
                        print("   FP:  ", text, r.reasons)


if __name__ == "__main__":
    main(sys.argv[1:])
