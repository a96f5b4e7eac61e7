"""Measure the deterministic risk screen on the project's labeled sets.

`tests/data/risk/dev/<lang>.yaml`: the lines lexicon patterns were tuned on.
`tests/data/risk/test/<lang>.yaml`: written separately by people who never saw the lexicons,
and never looked at while tuning them. The README reports this split.
Usage: python tests/risk_eval.py [--test] [LANG ...]
    LANG: languages whose dev misses to print; --test: also report the held-out split.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from emostage.safety import screen_risk

DATA = Path(__file__).parent / "data" / "risk"
LANGUAGES = ("ja", "zh", "en")


def splits(
    names: tuple[str, ...] = ("dev", "test"),
) -> dict[str, dict[str, tuple[list[str], list[str]]]]:
    """{split: {language: (crisis lines, negative lines)}} for the splits that exist."""
    found: dict[str, dict[str, tuple[list[str], list[str]]]] = {}
    for split in names:
        for language in LANGUAGES:
            path = DATA / split / f"{language}.yaml"
            if path.exists():
                data = yaml.safe_load(path.read_text("utf-8"))
                found.setdefault(split, {})[language] = (data["crisis"], data["negative"])
    return found


def rates(language: str, crisis: list[str], negative: list[str]) -> tuple[float, float]:
    """Recall on crisis lines and false-positive rate (crisis level) on negatives."""
    hits = sum(screen_risk(t, language).level == "crisis" for t in crisis)
    false = sum(screen_risk(t, language).level == "crisis" for t in negative)
    return hits / len(crisis), false / len(negative)


def main(args: list[str]) -> None:
    show = [a for a in args if a != "--test"]
    for split, languages in splits(("dev", "test") if "--test" in args else ("dev",)).items():
        for language, (crisis, negative) in languages.items():
            recall, fpr = rates(language, crisis, negative)
            counts = f"({len(crisis)} crisis, {len(negative)} negative)"
            print(f"{split:5} {language} recall {recall:.3f}  FPR {fpr:.3f}  {counts}")
            if split == "dev" and language in show:
                for text in crisis:
                    if screen_risk(text, language).level != "crisis":
                        print("   MISS:", text)
                for text in negative:
                    if (r := screen_risk(text, language)).level == "crisis":
                        print("   FP:  ", text, r.reasons)


if __name__ == "__main__":
    main(sys.argv[1:])
