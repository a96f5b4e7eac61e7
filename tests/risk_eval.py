"""Measure the deterministic risk screen on the project's labeled sets.

`tests/data/risk/dev/<lang>.yaml`: the lines lexicon patterns were tuned on.
`tests/data/risk/test/<lang>.yaml`: written separately by people who never saw the lexicons,
and never looked at while tuning them. The README reports this split.

Each file has `crisis` (the client's own current risk) and `negative` lines, and may have
`crisis_other` (another person's current risk: crisis, about someone else) and `past`
(a resolved past event: concern, never crisis). Every line is screened with all lexicons.
Usage: python tests/risk_eval.py [--test] [LANG ...]
    LANG: languages whose dev misses to print; --test: also report the held-out split.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from emostage.safety import screen_risk

DATA = Path(__file__).parent / "data" / "risk"
LANGUAGES = ("ja", "zh", "en")


@dataclass
class LabeledSet:
    """One language's lines of one split, by label."""

    crisis: list[str]
    negative: list[str]
    crisis_other: list[str] = field(default_factory=list)
    past: list[str] = field(default_factory=list)


@dataclass
class Rates:
    """What the screen did on a labeled set."""

    recall: float  # crisis raised on crisis and crisis_other lines
    fpr: float  # crisis raised on negative and past lines
    other: float | None  # crisis_other lines raised as crisis about someone else
    past: float | None  # past lines raised as concern with timeframe past
    misses: list[str]
    false_alarms: list[str]


def splits(
    names: tuple[str, ...] = ("dev", "test"),
) -> dict[str, dict[str, LabeledSet]]:
    """{split: {language: labeled set}} for the splits that exist."""
    found: dict[str, dict[str, LabeledSet]] = {}
    for split in names:
        for language in LANGUAGES:
            path = DATA / split / f"{language}.yaml"
            if path.exists():
                data = yaml.safe_load(path.read_text("utf-8"))
                found.setdefault(split, {})[language] = LabeledSet(**data)
    return found


def rates(lines: LabeledSet) -> Rates:
    """Recall, false-positive rate, and how well subject and timeframe are told apart."""
    positives = lines.crisis + lines.crisis_other
    negatives = lines.negative + lines.past
    misses = [t for t in positives if screen_risk(t).level != "crisis"]
    false_alarms = [t for t in negatives if screen_risk(t).level == "crisis"]
    other = [screen_risk(t) for t in lines.crisis_other]
    past = [screen_risk(t) for t in lines.past]
    return Rates(
        recall=1 - len(misses) / len(positives),
        fpr=len(false_alarms) / len(negatives),
        other=sum(r.level == "crisis" and r.subject == "other" for r in other) / len(other)
        if other
        else None,
        past=sum(r.level == "concern" and r.timeframe == "past" for r in past) / len(past)
        if past
        else None,
        misses=misses,
        false_alarms=false_alarms,
    )


def main(args: list[str]) -> None:
    show = [a for a in args if a != "--test"]
    for split, languages in splits(("dev", "test") if "--test" in args else ("dev",)).items():
        for language, lines in languages.items():
            result = rates(lines)
            extra = "".join(
                f"  {name} {value:.3f}"
                for name, value in (("other", result.other), ("past", result.past))
                if value is not None
            )
            counts = (
                f"({len(lines.crisis)}+{len(lines.crisis_other)} crisis, "
                f"{len(lines.negative)}+{len(lines.past)} negative)"
            )
            print(
                f"{split:5} {language} recall {result.recall:.3f}  FPR {result.fpr:.3f}"
                f"{extra}  {counts}"
            )
            if split == "dev" and language in show:
                for text in result.misses:
                    print("   MISS:", text)
                for text in result.false_alarms:
                    print("   FP:  ", text, screen_risk(text).reasons)


if __name__ == "__main__":
    main(sys.argv[1:])
