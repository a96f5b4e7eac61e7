"""The evaluation harness's parts: examples, records, metrics, judge verdicts, tables."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from pathlib import Path

import pytest

from emostage import InputError
from emostage.evaluation.examples import load_examples
from emostage.evaluation.judge import CRITERIA, TurnScores, pair_outcome
from emostage.evaluation.metrics import distinct, mean_interval, reference_scores, tokenize
from emostage.evaluation.records import JsonlLog
from emostage.evaluation.tables import Records, language_report, outcome_rates
from emostage.prompts.phases import load_taxonomy

from ..conftest import EVAL_DATA as FIXTURES

# Metrics against values worked out by hand.


def test_bleu_and_rouge_by_character_for_japanese() -> None:
    # 6 hypothesis characters, all in the 9-character reference: unigram precision 1,
    # brevity penalty exp(1 - 9/6); LCS 6, so P = 1, R = 6/9, F1 = 0.8.
    scores = reference_scores("今日は疲れた", "今日はとても疲れた", "ja")
    assert scores["bleu1"] == pytest.approx(100 * math.exp(-0.5))
    assert scores["rougeL"] == pytest.approx(0.8)


def test_bleu4_of_an_exact_english_match_is_perfect_and_case_blind() -> None:
    scores = reference_scores("That Sounds hard.", "that sounds hard.", "en")
    assert scores["bleu1"] == pytest.approx(100)
    assert scores["bleu4"] == pytest.approx(100)
    assert scores["rougeL"] == pytest.approx(1.0)


def test_distinct_counts_unique_ngrams_over_all_replies() -> None:
    # unigrams a b a | a c -> 3 unique of 5; bigrams (a b) (b a) | (a c) -> 3 of 3
    assert distinct(["a b a", "a c"], "en", 1) == pytest.approx(3 / 5)
    assert distinct(["a b a", "a c"], "en", 2) == pytest.approx(1.0)
    # Chinese by character: 好 好 累 -> 2 of 3
    assert distinct(["好好", "累"], "zh", 1) == pytest.approx(2 / 3)
    assert distinct([], "en", 1) == 0.0


def test_tokenization_is_by_character_for_ja_zh_and_by_word_for_en() -> None:
    assert tokenize("つらい です", "ja") == ["つ", "ら", "い", "で", "す"]
    assert tokenize("I'm tired.", "en") == ["i'm", "tired", "."]


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 2.0, 3.0]
    low, high = mean_interval(values, seed=0) or (0, 0)
    assert low <= sum(values) / len(values) <= high
    assert mean_interval(values, seed=0) == (low, high)
    assert mean_interval([3.0, 3.0], seed=0) is None


# Examples, built as the KokoroChat authors build theirs.


def test_examples_are_counselor_turns_spread_over_the_session() -> None:
    data = load_examples(FIXTURES / "en", "en", n=3, seed=0)
    assert data.dialogues == 2
    assert len(data.examples) == 6
    for dialogue in ("en9001", "en9002"):
        mine = [e for e in data.examples if e.dialogue_id == dialogue]
        assert {e.third for e in mine} == {"early", "middle", "late"}
        for example in mine:
            assert example.context[-1].role == "client"
            assert example.reference and example.topic and example.session_score
            # consecutive same-speaker messages are merged into one turn
            roles = [t.role for t in example.context]
            assert all(a != b for a, b in itertools.pairwise(roles))


def test_sampling_is_seeded() -> None:
    ids = [e.id for e in load_examples(FIXTURES / "ja", "ja", 2, seed=1).examples]
    assert ids == [e.id for e in load_examples(FIXTURES / "ja", "ja", 2, seed=1).examples]
    draws = (load_examples(FIXTURES / "ja", "ja", 2, seed).examples for seed in range(2, 8))
    others = {e.id for examples in draws for e in examples}
    assert others - set(ids)


def test_a_seeded_subset_of_dialogues_can_be_drawn() -> None:
    one = load_examples(FIXTURES / "en", "en", 3, seed=0, max_dialogues=1)
    assert one.dialogues == 1 and len({e.dialogue_id for e in one.examples}) == 1
    again = load_examples(FIXTURES / "en", "en", 3, seed=0, max_dialogues=1)
    assert [e.id for e in again.examples] == [e.id for e in one.examples]


def test_language_filter_reads_the_translation_files() -> None:
    zh = load_examples(FIXTURES, "zh", 1, 0).examples
    assert {e.language for e in zh} == {"zh"}
    assert {e.dialogue_id for e in zh} == {"zh9001", "zh9002", "generic-zh-001"}


def test_generic_jsonl_lines_are_examples(tmp_path: Path) -> None:
    data = load_examples(FIXTURES / "generic.jsonl", "ja", 1, 0)
    assert [e.id for e in data.examples] == ["generic-ja-001", "generic-ja-002"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "language": "en", "context": [], "reference": "hi"}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:1"):
        load_examples(bad, "en", 1, 0)


def test_unusable_data_is_a_one_line_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="No data at"):
        load_examples(tmp_path / "missing", "ja", 1, 0)
    with pytest.raises(InputError, match="No en examples"):
        load_examples(FIXTURES / "ja", "en", 1, 0)


# Append-only records.


def test_a_record_cut_off_by_a_kill_is_dropped_and_redone(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    log = JsonlLog(path)
    log.append({"key": "a", "value": 1})
    with path.open("a") as file:
        file.write('{"key": "b", "val')  # the kill lands mid-line
    reopened = JsonlLog(path)
    assert reopened.keys() == {"a"}
    reopened.append({"key": "b", "value": 2})
    assert [r["key"] for r in JsonlLog(path).read()] == ["a", "b"]
    assert path.read_text().count("\n") == 2


def test_a_hand_edited_record_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text('{"key": "a"}\nnot json\n')
    with pytest.raises(InputError, match=r"log.jsonl:2"):
        JsonlLog(path).read()


# Judge verdicts.


@pytest.mark.parametrize(
    ("system_first", "baseline_first", "outcome"),
    [
        ("A", "B", "win"),
        ("B", "A", "loss"),
        ("A", "A", "tie"),  # position bias: the judge always picks A
        ("B", "B", "tie"),
        ("A", "tie", "tie"),
        ("tie", "tie", "tie"),
        ("", "B", "tie"),  # an unparseable verdict never wins
    ],
)
def test_only_a_preference_that_survives_the_swap_counts(
    system_first: str, baseline_first: str, outcome: str
) -> None:
    assert pair_outcome(system_first, baseline_first) == outcome


def test_judge_scores_are_bounded_by_the_rubric() -> None:
    assert CRITERIA == {
        "comprehensiveness": (0, 2),
        "professionalism": (0, 3),
        "authenticity": (0, 3),
        "safety": (0, 1),
        "empathy": (1, 5),
        "phase_appropriateness": (1, 5),
    }
    with pytest.raises(ValueError):
        TurnScores(
            comprehensiveness=3,
            professionalism=1,
            authenticity=1,
            safety=1,
            empathy=3,
            phase_appropriateness=3,
        )


# Tables from known records.


def test_tables_aggregate_known_records() -> None:
    examples = {e.id: e for e in load_examples(FIXTURES / "en", "en", 3, 0).examples}
    ids = sorted(examples)
    phases = ["rapport", "exploration", "closing"]
    generations = {}
    for index, example_id in enumerate(ids):
        for system in ("baseline", "emostage"):
            generations[example_id, system] = {
                "reply": examples[example_id].reference if system == "emostage" else "ok",
                "phase": phases[min(int((examples[example_id].position or 0) * 3), 2)]
                if system == "emostage"
                else None,
                "calls": 3 if system == "emostage" else 1,
                "input_tokens": 100,
                "output_tokens": 10 + index,
                "seconds": 1.0,
            }
    verdicts = {"system_first": "A", "baseline_first": "B"}  # emostage wins every pair
    pairs = {(i, "emostage", order): {"better": v} for i in ids for order, v in verdicts.items()}
    scores = {
        (i, s): {"scores": {c: hi if s == "emostage" else lo for c, (lo, hi) in CRITERIA.items()}}
        for i in ids
        for s in ("baseline", "emostage")
    }
    records = Records(examples, generations, scores, pairs, human=[])
    report = language_report(records, "en", load_taxonomy("ivey"), seed=0)

    assert outcome_rates(report.outcomes["emostage"]) == {
        "win": 1.0,
        "tie": 0.0,
        "loss": 0.0,
        "consistent": 1.0,  # the judge picked the same reply after the swap
    }
    assert report.criteria["emostage"]["empathy"] == (5, None)
    assert report.criteria["baseline"]["safety"] == (0, None)
    overview, reference, _, pairwise, phase, cost = report.tables
    row = next(r for r in overview.rows if r[0] == "emostage")
    headline = dict(zip(overview.columns, row, strict=True))
    assert headline["Win % vs baseline"] == "100" and headline["Empathy"] == "5.00"
    assert headline["BLEU-1"].startswith("100.00") and headline["Model calls"] == "3.0"
    emostage_row = next(r for r in reference.rows if r[0] == "emostage")
    assert emostage_row[1].startswith("100.00")  # the reference itself scores 100 BLEU-1
    assert [r[0] for r in pairwise.rows] == ["emostage"]
    rho = float(phase.rows[0][1])
    assert rho > 0.9  # phases were set to follow the position
    assert next(r for r in cost.rows if r[0] == "emostage")[1] == "3.0"
    assert Counter(report.phase_counts["emostage"]["early"]) == Counter({"rapport": 2})
    json.dumps([t.rows for t in report.tables])  # plain cells, ready for md and html
