"""Measure the risk screen (lexicon and classifier) on the project's labeled sets.

`tests/data/risk/dev/<lang>.yaml`: the lines lexicon patterns were tuned on (the classifier
trains on them too).
`tests/data/risk/test/<lang>.yaml` (round 4) and `round5/<lang>.yaml`: written separately by
people who never saw the lexicons or the classifier's data, and never looked at while tuning.
`psyguard-dev` and `psyguard-holdout`: real Chinese messages (`training/data/psyguard`); the
thresholds are set on dev, and the holdout is measured once.

Each file has `crisis` (the client's own current risk) and `negative` lines, and may have
`passive` (the client's own passive ideation), `crisis_other` (another person's current
risk: crisis, about someone else) and `past` (a resolved past event: concern, never crisis).
Every line is screened with all lexicons and the classifier.
Usage: python -m tests.risk_eval [--test] [--kokorochat OUT] [LANG ...]
    LANG: languages whose dev misses to print; --test: also report the held-out sets;
    --kokorochat OUT: screen the client turns of `../shared/data/kokorochat` and write the
    flagged ones to OUT, outside the repository (their licence forbids copies), for a reader.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from emostage.conversation import load_dialogue
from emostage.safety import screen_risk
from training.psyguard_split import PASSIVE, is_risk, read_part

DATA = Path(__file__).parent / "data" / "risk"
KOKOROCHAT = Path(__file__).resolve().parents[2] / "shared" / "data" / "kokorochat"
LANGUAGES = ("ja", "zh", "en")


@dataclass
class LabeledSet:
    """One language's lines of one split, by label."""

    crisis: list[str]
    negative: list[str]
    crisis_other: list[str] = field(default_factory=list)
    past: list[str] = field(default_factory=list)
    passive: list[str] = field(default_factory=list)


@dataclass
class Rates:
    """What the screen did on a labeled set."""

    recall: float  # crisis raised on crisis, passive and crisis_other lines
    passive_recall: float | None  # crisis raised on passive lines
    fpr: float  # crisis raised on negative and past lines
    other: float | None  # crisis_other lines raised as crisis about someone else
    past: float | None  # past lines raised as concern with timeframe past
    misses: list[str]
    false_alarms: list[str]


def psyguard(part: str) -> LabeledSet:
    """One part of the PsyGUARD split as a labeled set; ambiguous talk about suicide left out."""
    lines = LabeledSet(crisis=[], negative=[])
    for row in read_part(part):
        risk = is_risk(row["labels"])
        if risk is not None:
            kind = "negative" if not risk else "passive" if PASSIVE in row["labels"] else "crisis"
            getattr(lines, kind).append(row["text"])
    return lines


def splits(
    names: tuple[str, ...] = ("dev", "test"),
) -> dict[str, dict[str, LabeledSet]]:
    """{split: {language: labeled set}} for the splits that exist (`psyguard-<part>` too)."""
    found: dict[str, dict[str, LabeledSet]] = {}
    for split in names:
        if split.startswith("psyguard-"):
            found[split] = {"zh": psyguard(split.removeprefix("psyguard-"))}
            continue
        for language in LANGUAGES:
            path = DATA / split / f"{language}.yaml"
            if path.exists():
                data = yaml.safe_load(path.read_text("utf-8"))
                found.setdefault(split, {})[language] = LabeledSet(**data)
    return found


def rates(lines: LabeledSet) -> Rates:
    """Recall, false-positive rate, and how well subject and timeframe are told apart."""
    positives = lines.crisis + lines.passive + lines.crisis_other
    negatives = lines.negative + lines.past
    misses = [t for t in positives if screen_risk(t).level != "crisis"]
    passive_misses = [t for t in lines.passive if t in misses]
    false_alarms = [t for t in negatives if screen_risk(t).level == "crisis"]
    other = [screen_risk(t) for t in lines.crisis_other]
    past = [screen_risk(t) for t in lines.past]
    return Rates(
        recall=1 - len(misses) / len(positives),
        passive_recall=1 - len(passive_misses) / len(lines.passive) if lines.passive else None,
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


HELD_OUT = ("test", "round5", "psyguard-holdout")


def kokorochat(out: Path) -> None:
    """Screen every client turn of the KokoroChat sample; write the crisis turns to `out`."""
    flagged = []
    for language in ("ja", "zh", "en"):
        turns = crises = 0
        for path in sorted((KOKOROCHAT / language).glob("*.json")):
            client = [t.content for t in load_dialogue(path) if t.role == "client"]
            for number, text in enumerate(client, 1):
                turns += 1
                risk = screen_risk(text)
                if risk.level == "crisis":
                    crises += 1
                    row = {"file": f"{language}/{path.name}", "client_turn": number, "text": text}
                    flagged.append({**row, "reasons": risk.reasons, "subject": risk.subject})
        print(f"kokorochat {language}: {crises} crisis of {turns} client turns")
    out.write_text("\n".join(json.dumps(f, ensure_ascii=False) for f in flagged) + "\n", "utf-8")


def main(args: list[str]) -> None:
    """Print recall and FPR per set and language; misses and false alarms of dev for LANG."""
    if "--kokorochat" in args:
        kokorochat(Path(args[args.index("--kokorochat") + 1]))
        return
    show = [a for a in args if a != "--test"]
    names = ("dev", "psyguard-dev", *(HELD_OUT if "--test" in args else ()))
    for split, languages in splits(names).items():
        for language, lines in languages.items():
            result = rates(lines)
            extra = "".join(
                f"  {name} {value:.3f}"
                for name, value in (
                    ("passive", result.passive_recall),
                    ("other", result.other),
                    ("past", result.past),
                )
                if value is not None
            )
            counts = (
                f"({len(lines.crisis)}+{len(lines.passive)}+{len(lines.crisis_other)} crisis, "
                f"{len(lines.negative)}+{len(lines.past)} negative)"
            )
            print(
                f"{split:16} {language} recall {result.recall:.3f}  FPR {result.fpr:.3f}"
                f"{extra}  {counts}"
            )
            if split in ("dev", "psyguard-dev") and language in show:
                for text in result.misses:
                    print("   MISS:", text)
                for text in result.false_alarms:
                    print("   FP:  ", text, screen_risk(text).reasons)


if __name__ == "__main__":
    main(sys.argv[1:])
