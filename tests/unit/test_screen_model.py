"""The learned screen: rebuilt byte for byte, small and fast, and combined with the lexicon."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import pytest

from emostage.conversation import load_dialogue
from emostage.safety import classifier, screen
from emostage.safety.classifier import MODEL_FILE, ScreenModel, screen_model, windows
from emostage.safety.normalize import normalize_for_screen
from emostage.safety.screen import classifier_input, lexicon_risk, screen_risk
from training import screen_model as training

from ..risk_eval import rates, splits

REASON = re.compile(r"^classifier\(0\.\d\d\)$")
TRIGGER = "☂"  # the only feature of the stand-in model below: nothing else moves it


def shipped() -> bytes:
    """The model file as the package ships it."""
    return resources.files("emostage.safety").joinpath(MODEL_FILE).read_bytes()


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScreenModel]:
    """A model that says risk exactly when the text holds `TRIGGER`."""
    model = ScreenModel(
        sizes=(1, 1),
        features={TRIGGER: (1.0, 10.0)},
        intercept=-5.0,
        thresholds={"ja": 0.5, "zh": 0.5, "en": 0.5},
        version="test",
    )
    monkeypatch.setattr(screen, "screen_model", lambda: model)
    yield model


def test_training_rebuilds_the_shipped_model(tmp_path: Path) -> None:
    """`make screen-model` on the repository's data gives the model that ships.

    Not byte for byte on every CPU: numpy picks its SIMD kernels at run time, so TF-IDF's
    sums differ in their last bits, and liblinear stops at a slightly different point
    (weights off by up to 1e-3 on an AMD EPYC against the machine that trained it). So: the
    same n-grams, thresholds and header, weights within 2e-3, and the very same decision on
    every message it learned from or was tuned on.
    """
    data, _ = training.build()
    training.write(data, tmp_path / MODEL_FILE)
    rebuilt, ships = json.loads((tmp_path / MODEL_FILE).read_text("utf-8")), json.loads(shipped())
    numeric = ("features", "intercept")
    assert {k: v for k, v in rebuilt.items() if k not in numeric} == {
        k: v for k, v in ships.items() if k not in numeric
    }  # header, n-gram sizes and each language's threshold: exactly
    assert rebuilt["features"].keys() == ships["features"].keys()
    weights = [(rebuilt["intercept"], ships["intercept"])] + [
        pair
        for gram in ships["features"]
        for pair in zip(rebuilt["features"][gram], ships["features"][gram], strict=True)
    ]
    assert max(abs(new - old) for new, old in weights) < 2e-3
    new_model, old_model = ScreenModel.from_json(rebuilt), ScreenModel.from_json(ships)
    texts = [classifier_input(example.text) for example in training.examples()]
    assert len(texts) > 5000
    for text in texts:
        flagged = [m.probability(text) >= m.threshold(text) for m in (new_model, old_model)]
        assert flagged[0] == flagged[1], text


def test_the_model_is_small_loads_fast_and_names_its_licence() -> None:
    text = shipped().decode("utf-8")
    assert len(shipped()) <= 5 * 1024 * 1024
    started = time.perf_counter()
    model = ScreenModel.from_json(json.loads(text))
    assert time.perf_counter() - started <= 1.0
    assert set(model.thresholds) == {"ja", "zh", "en"}
    assert all(0.0 < t < 1.0 for t in model.thresholds.values())
    assert "PsyGUARD" in json.loads(text)["licence"] and "MIT" in json.loads(text)["licence"]


def test_the_model_is_fast_on_typical_and_long_messages() -> None:
    model = screen_model()
    lines = [
        normalize_for_screen(line)
        for labeled in splits(("dev",))["dev"].values()
        for line in labeled.crisis[:100] + labeled.negative[:100]
    ]
    per_message = []
    for line in lines:
        started = time.perf_counter()
        model.probability(line)
        per_message.append(time.perf_counter() - started)
    assert statistics.median(per_message) <= 0.002
    long = normalize_for_screen(" ".join(lines))[:16_000]
    best = min(_timed(lambda: model.probability(long)) for _ in range(3))
    assert best <= 0.050


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def test_a_long_message_is_scored_in_windows_of_whole_sentences() -> None:
    text = "work was long today. " * 60 + "i bought rope on the way home."
    pieces = windows(text)
    assert len(pieces) > 1 and all(len(p) <= classifier.WINDOW for p in pieces)
    assert "".join(pieces) == text
    assert pieces[-1].endswith("i bought rope on the way home.")


def test_a_classifier_hit_is_crisis_with_its_probability_as_the_reason(
    stand_in: ScreenModel,
) -> None:
    risk = screen_risk(f"today felt strange {TRIGGER}")
    assert risk.level == "crisis" and risk.subject == "self" and risk.timeframe == "current"
    assert len(risk.reasons) == 1 and REASON.match(risk.reasons[0])
    assert screen_risk("today felt strange").level == "none"


def test_whose_risk_comes_from_the_sentence_the_classifier_chose(stand_in: ScreenModel) -> None:
    other = screen_risk(f"work was fine. my brother keeps saying {TRIGGER}")
    assert other.level == "crisis" and other.subject == "other"
    own = screen_risk(f"my brother visited. i keep thinking {TRIGGER}")
    assert own.level == "crisis" and own.subject == "self"
    assert screen_risk(f"私の友達がずっと{TRIGGER}って言ってる").subject == "other"


def test_the_lexicon_keeps_its_categories_and_the_classifier_adds_its_reason(
    stand_in: ScreenModel,
) -> None:
    risk = screen_risk(f"my sister keeps saying she wants to die {TRIGGER}")
    assert risk.level == "crisis" and risk.subject == "other"
    assert risk.reasons[0] == "suicidal_ideation (screen)" and REASON.match(risk.reasons[-1])


def test_a_resolved_past_event_stays_concern_whatever_the_classifier_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The classifier reads the message without the spans the lexicon reads as resolved past."""
    past = "i tried to overdose in college, but i'm in a much better place now"
    thresholds = {"ja": 0.5, "zh": 0.5, "en": 0.5}
    model = ScreenModel((8, 8), {"overdose": (1.0, 10.0)}, -5.0, thresholds, "test")
    monkeypatch.setattr(screen, "screen_model", lambda: model)
    assert "overdose" not in classifier_input(past)
    risk = screen_risk(past)
    assert risk.level == "concern" and risk.timeframe == "past"
    assert model.probability(normalize_for_screen(past)) > 0.9  # it would have fired


def test_the_real_model_catches_what_the_lexicon_missed_in_the_issue() -> None:
    """The issue's examples of real messages the lexicon let through."""
    for text in ("如何不痛并快速死去", "我想无痛死亡"):
        assert lexicon_risk(text).level != "crisis"
        risk = screen_risk(text)
        assert risk.level == "crisis" and risk.subject == "self"
        assert REASON.match(risk.reasons[-1])


# The README's table (Safety, "Measured"): (set, language, recall, passive recall, FPR), as
# `python -m tests.risk_eval --test` printed them once the model was final.
MEASURED = [
    ("psyguard-dev", "zh", 0.881, 0.781, 0.086),
    ("test", "ja", 0.857, None, 0.083),
    ("test", "zh", 0.914, None, 0.017),
    ("test", "en", 0.857, None, 0.050),
    ("round5", "ja", 0.856, 0.833, 0.087),
    ("round5", "zh", 0.944, 0.900, 0.138),
    ("round5", "en", 0.756, 0.700, 0.100),
    ("psyguard-holdout", "zh", 0.929, 0.935, 0.088),
]


@pytest.mark.parametrize(("split", "language", "recall", "passive", "fpr"), MEASURED)
def test_the_readme_numbers_are_what_the_screen_measures(
    split: str, language: str, recall: float, passive: float | None, fpr: float
) -> None:
    measured = rates(splits((split,))[split][language])
    assert round(measured.recall, 3) == recall and round(measured.fpr, 3) == fpr
    assert (
        None if measured.passive_recall is None else round(measured.passive_recall, 3)
    ) == passive


def test_the_false_crises_the_readme_names_in_our_own_examples() -> None:
    """README, Safety: the cost of the recall, in the project's own English examples."""
    examples = Path(__file__).parents[2] / "examples"
    flagged = {
        path.name: [
            turn.content
            for turn in load_dialogue(path)
            if turn.role == "client" and screen_risk(turn.content).level == "crisis"
        ]
        for path in sorted(examples.glob("*.json"))
    }
    assert flagged["en_breakup.json"] == [
        "Yes. I don't expect to be over it yet. I just want to be able to sleep."
    ]
    assert len(flagged["en_kokorochat_format.json"]) == 1
    assert "I think I might be at my limit." in flagged["en_kokorochat_format.json"][0]
    assert all(not found for name, found in flagged.items() if not name.startswith("en_"))
