"""Train the learned screen (`emostage/safety/screen_model.json`) from the data in this folder.

Usage: python -m training.screen_model [--compare] [--out PATH]   (or: make screen-model)

The data, every line with its provenance (see `training/README.md`):
- `data/psyguard/{train,dev}.jsonl`: real Chinese messages (PsyGUARD, MIT; split by
  `psyguard_split.py`). `holdout.jsonl` is never read here.
- `data/written/{ja,en}.jsonl`: Japanese and English lines written for EmoStage.
- `data/translated/{ja,en}.jsonl`: PsyGUARD train messages rewritten in Japanese and English.
- `tests/data/risk/dev/*.yaml`: the lexicon's development lines, in their role: tuning.

Training is deterministic (fixed order, liblinear with a fixed seed, rounded weights), so the
same data gives the same bytes; `tests/unit/test_screen_model.py` checks it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from emostage.safety.classifier import FORMAT, MODEL_FILE, ScreenModel, char_ngrams
from emostage.safety.screen import classifier_input, lexicon_risk
from training.psyguard_split import is_risk, read_part

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "training" / "data"
RISK_DEV = ROOT / "tests" / "data" / "risk" / "dev"
OUT = ROOT / "emostage" / "safety" / MODEL_FILE
VERSION = "2026.12.1"
SIZES = (2, 4)  # character n-grams, chosen with --compare
REAL_WEIGHT = 3.0  # a real message counts this many written ones: real text is what it meets
C = 4.0  # inverse regularization, chosen with --compare
MIN_DF = 2
DEV_SHARE = 25  # percent of the written lines kept for setting the ja and en thresholds
TARGET_RECALL = 0.95  # the recall target: the thresholds aim here on dev...
MAX_FPR = 0.08  # ...unless that costs more false alarms than the target allows
LICENCE = (
    "Derived in part from PsyGUARD (Qiu et al., EMNLP 2024), MIT licence, copyright 2024 "
    "qiuhuachuan; see training/data/psyguard/LICENSE."
)


@dataclass(frozen=True)
class Example:
    """One labelled message: risk or not, its language, and whether it trains or sets thresholds."""

    text: str
    risk: bool
    language: str
    part: str  # "train" or "dev"
    real: bool = False  # a real message (PsyGUARD), not one written for EmoStage


def _bucket(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % 100


def _jsonl(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def examples() -> list[Example]:
    """Every labelled message, in a fixed order."""
    found: list[Example] = []
    for part in ("train", "dev"):
        for row in read_part(part):
            risk = is_risk(list(row["labels"]))
            if risk is not None:
                found.append(Example(str(row["text"]), risk, "zh", part, real=True))
    for language in ("ja", "zh", "en"):
        written = [*_jsonl(DATA / "written" / f"{language}.jsonl")]
        for row in written + _jsonl(DATA / "written" / f"session_{language}.jsonl"):
            text = str(row["text"])
            part = "dev" if _bucket(text) < DEV_SHARE else "train"
            found.append(Example(text, row["label"] in ("self", "other"), language, part))
        for row in _jsonl(DATA / "translated" / f"{language}.jsonl"):
            risk = is_risk(list(row["labels"]))  # type: ignore[call-overload]
            if risk is not None:
                found.append(Example(str(row["text"]), risk, language, "train"))
    for path in sorted(RISK_DEV.glob("*.yaml")):
        lines = yaml.safe_load(path.read_text("utf-8"))
        for label, texts in lines.items():
            for text in texts:
                if label == "crisis" and _violence_only(text):
                    continue  # danger from or to others is the lexicon's, not this model's
                found.append(Example(text, label in ("crisis", "crisis_other"), path.stem, "train"))
    return found


def fit(
    train: Iterable[Example], sizes: tuple[int, int] = SIZES, c: float = C
) -> dict[str, object]:
    """The model trained on `train`, in its JSON form, thresholds not yet set."""
    rows = list(train)
    vectorizer = TfidfVectorizer(
        analyzer=lambda text: char_ngrams(text, sizes), min_df=MIN_DF, sublinear_tf=True
    )
    matrix = vectorizer.fit_transform([classifier_input(e.text) for e in rows])
    model = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", random_state=0)
    weights = [REAL_WEIGHT if e.real else 1.0 for e in rows]
    model.fit(matrix, [e.risk for e in rows], sample_weight=weights)
    grams = vectorizer.get_feature_names_out()
    features = {
        str(gram): [round(float(idf), 4), round(float(weight), 5)]
        for gram, idf, weight in zip(grams, vectorizer.idf_, model.coef_[0], strict=True)
    }
    return {
        "format": FORMAT,
        "version": VERSION,
        "licence": LICENCE,
        "ngram_sizes": list(sizes),
        "intercept": round(float(model.intercept_[0]), 5),
        "thresholds": {"ja": 0.5, "zh": 0.5, "en": 0.5},
        "features": dict(sorted(features.items())),
    }


def lexicon_only_crisis(text: str) -> bool:
    """The lexicon alone raises crisis on `text`."""
    return lexicon_risk(text).level == "crisis"


def _violence_only(text: str) -> bool:
    reasons = lexicon_risk(text).reasons
    return bool(reasons) and all(
        r.startswith(("harm_to_others", "harm_from_others")) for r in reasons
    )


@dataclass(frozen=True)
class Scored:
    """A dev message: its label, whether the lexicon alone flags it, and the model's probability."""

    risk: bool
    lexicon: bool
    probability: float


def scored(model: ScreenModel, dev: Iterable[Example]) -> list[Scored]:
    """Each dev message, read by the lexicon and scored by `model`."""
    return [
        Scored(e.risk, lexicon_only_crisis(e.text), model.probability(classifier_input(e.text)))
        for e in dev
    ]


def rates(rows: list[Scored], threshold: float) -> tuple[float, float]:
    """Recall and false-positive rate of the combined screen at `threshold`."""
    flagged = [r.lexicon or r.probability >= threshold for r in rows]
    positives = [f for f, r in zip(flagged, rows, strict=True) if r.risk]
    negatives = [f for f, r in zip(flagged, rows, strict=True) if not r.risk]
    return sum(positives) / max(1, len(positives)), sum(negatives) / max(1, len(negatives))


def chosen_threshold(rows: list[Scored]) -> float:
    """The highest threshold reaching `TARGET_RECALL` on dev, unless its FPR passes `MAX_FPR`.

    Then it is the lowest threshold whose FPR stays within `MAX_FPR`: false alarms are
    capped, and the recall that is left is what the README reports.
    """
    candidates = sorted({round(r.probability, 3) for r in rows} | {0.5}, reverse=True)
    best = candidates[0]
    for threshold in candidates:
        recall, fpr = rates(rows, threshold)
        if fpr > MAX_FPR:
            return best
        best = threshold
        if recall >= TARGET_RECALL:
            return threshold
    return best


def build(
    sizes: tuple[int, int] = SIZES, c: float = C
) -> tuple[dict[str, object], dict[str, list[Scored]]]:
    """Train on the train part and set each language's threshold on its dev part."""
    every = examples()
    data = fit((e for e in every if e.part == "train"), sizes, c)
    model = ScreenModel.from_json(data)
    dev = {
        language: scored(model, (e for e in every if e.part == "dev" and e.language == language))
        for language in ("ja", "zh", "en")
    }
    data["thresholds"] = {language: chosen_threshold(rows) for language, rows in dev.items()}
    return data, dev


def write(data: dict[str, object], path: Path) -> None:
    """The model as compact, stable JSON: one line per n-gram, so that diffs stay readable."""
    features = data["features"]
    assert isinstance(features, dict)
    head = {k: v for k, v in data.items() if k != "features"}
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ', "features": {']
    items = [f"{json.dumps(g, ensure_ascii=False)}: {json.dumps(v)}" for g, v in features.items()]
    lines.append(",\n".join(items))
    lines.append("}}")
    path.write_text("\n".join(lines) + "\n", "utf-8")


def report(data: dict[str, object], dev: dict[str, list[Scored]]) -> str:
    """Dev recall and FPR per language, the lexicon alone and combined at the chosen threshold."""
    thresholds = data["thresholds"]
    assert isinstance(thresholds, dict)
    out = ["| language | dev risk / other | threshold | lexicon alone | lexicon + classifier |"]
    out.append("|---|---|---|---|---|")
    for language, rows in dev.items():
        alone = rates(rows, 2.0)
        combined = rates(rows, thresholds[language])
        positives = sum(r.risk for r in rows)
        out.append(
            f"| {language} | {positives} / {len(rows) - positives} | {thresholds[language]:.3f} "
            f"| {alone[0]:.2f} / {alone[1]:.2f} | {combined[0]:.2f} / {combined[1]:.2f} |"
        )
    return "\n".join(out)


def compare() -> None:
    """Dev results of the candidate settings: the evidence behind `SIZES` and `C`."""
    for sizes in ((1, 2), (1, 3), (1, 4), (2, 4), (2, 5)):
        for c in (2.0, 4.0, 8.0, 32.0):
            data, dev = build(sizes, c)
            print(f"\n## n-grams {sizes}, C={c}: {len(data['features'])} features")  # type: ignore[arg-type]
            print(report(data, dev))


def main() -> None:
    """Build the model and print its dev report, or compare the candidate settings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="store_true", help="compare candidate settings")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the model")
    args = parser.parse_args()
    if args.compare:
        compare()
        return
    data, dev = build()
    write(data, args.out)
    print(report(data, dev))


if __name__ == "__main__":
    main()
