"""`emostage eval` end to end on the scripted model: every file, resuming, ratings, bad options.

(The embedded model, and a run killed mid-way: tests/integration/test_eval_runs.py.)
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from ..conftest import EVAL_DATA as FIXTURES
from ..conftest import KOKOROCHAT, REPORT_TABLES, SCRIPTED, emostage
from ..conftest import read_jsonl as lines

PNG = b"\x89PNG\r\n\x1a\n"


def invoke(*args: str | Path) -> tuple[int, str]:
    result = emostage("eval", *args, env=SCRIPTED)
    return result.exit_code, result.output


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig") as file:
        return list(csv.DictReader(file))


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.DictWriter(file, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_scripted_run_in_three_languages_yields_every_file(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, output = invoke(
        "all", "--out", run, "--data", FIXTURES, "--lang", "ja,zh,en", "--n", "2",
        "--concurrency", "3",
    )  # fmt: skip
    assert code == 0, output
    examples = lines(run / "examples.jsonl")
    generations = lines(run / "generations.jsonl")
    assert len(generations) == 5 * len(examples)
    assert len({g["key"] for g in generations}) == len(generations)
    assert {e["language"] for e in examples} == {"ja", "zh", "en"}
    # every non-baseline system is compared in both orders
    assert len(lines(run / "pairs.jsonl")) == 2 * 4 * len(examples)

    config = json.loads((run / "config.json").read_text())
    assert config["seed"] == 0 and config["n"] == 2 and config["taxonomy"] == "ivey"
    assert config["generator"]["backend"] == "scripted" and config["judge"]
    assert "prompts/zh/judge.yaml" in config["files_sha256"]

    report = (run / "report" / "report.md").read_text("utf-8")
    for language in ("ja", "zh", "en"):
        assert f"## {language}" in report
        for name in ("criteria", "win_rates", "phases"):
            assert (run / "report" / f"{name}_{language}.png").read_bytes().startswith(PNG)
    assert all(report.count(title) == 3 for title in REPORT_TABLES)
    assert "| emostage | 3.0 |" in report  # three model calls per EmoStage turn
    page = (run / "report" / "report.html").read_text("utf-8")
    assert page.count("<table>") == 18 and page.count("data:image/png;base64,") == 9

    code, output = invoke("all", "--out", run, "--data", FIXTURES, "--lang", "ja,zh,en", "--n", "2")
    assert code == 0 and "generate: 0 new" in output and "judge pairs: 0 new" in output
    assert len(lines(run / "generations.jsonl")) == len(generations)


def test_resuming_with_other_settings_is_refused(tmp_path: Path) -> None:
    base = ("run", "--out", tmp_path, "--data", FIXTURES / "generic.jsonl", "--systems")
    assert invoke(*base, "baseline", "--lang", "en")[0] == 0
    code, output = invoke(*base, "baseline", "--lang", "en", "--seed", "7")
    assert code == 2 and "different settings (seed: 0 now 7)" in output
    # adding a system to a run is fine: only the new replies are written
    code, output = invoke(*base, "baseline,reference", "--lang", "en")
    assert code == 0 and "generate: 1 new, 1 already done" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--lang", "fr"), "Unknown --lang 'fr'"),
        (("--systems", "gpt4"), "Unknown system 'gpt4'"),
        (("--n", "0"), "--n must be at least 1"),
        (("--concurrency", "0"), "--concurrency must be at least 1"),
    ],
)
def test_bad_options_are_one_line_errors(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    code, output = invoke("run", "--out", tmp_path, "--data", FIXTURES, *args)
    assert code == 2 and message in output and "Traceback" not in output


def test_the_blinded_rating_sheet_round_trip(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert invoke("run", "--out", run, "--data", FIXTURES, "--lang", "en", "--n", "3")[0] == 0
    code, output = invoke("sheet", "--out", run)
    assert code == 0, output
    sheet = read_csv(run / "human" / "sheet.csv")
    key = {row["item"]: row for row in read_csv(run / "human" / "key.csv")}
    assert len(sheet) == 7 * 5 and set(key) == {row["item"] for row in sheet}
    assert "system" not in sheet[0] and "baseline" not in (run / "human" / "sheet.csv").read_text()
    firsts = {key[row["item"]]["system"] for row in sheet if row["item"].endswith("-A")}
    assert len(firsts) > 1  # the order of systems is shuffled per example

    for row in sheet:
        row.update(empathy="5" if key[row["item"]]["system"] == "reference" else "2")
        row.update(phase_fit="4", overall="")
    filled = tmp_path / "filled.csv"
    write_csv(filled, sheet)
    code, output = invoke("import-ratings", "--out", run, filled, "--rater", "r1")
    assert code == 0 and "35 new ratings" in output
    assert "0 new ratings" in invoke("import-ratings", "--out", run, filled, "--rater", "r1")[1]

    assert invoke("report", "--out", run)[0] == 0
    report = (run / "report" / "report.md").read_text("utf-8")
    assert "Human counselor ratings (blinded)" in report
    assert "| reference | 5.00 | 4.00 |" in report and "| baseline | 2.00 | 4.00 |" in report

    sheet[0]["empathy"] = "great"
    write_csv(filled, sheet)
    code, output = invoke("import-ratings", "--out", run, filled, "--rater", "r2")
    assert code == 2 and "whole numbers from 1 to 5" in output


@pytest.mark.skipif(not KOKOROCHAT.exists(), reason="the KokoroChat sample is not present")
def test_a_small_run_over_the_kokorochat_sample(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, output = invoke(
        "all", "--out", run, "--data", KOKOROCHAT, "--lang", "ja,zh", "--n", "2",
        "--dialogues", "6", "--systems", "baseline,emostage,reference", "--concurrency", "4",
    )  # fmt: skip
    assert code == 0, output
    examples = lines(run / "examples.jsonl")
    assert len(examples) == 24  # 6 of the 24 dialogues per language, two examples each
    assert len({e["dialogue_id"] for e in examples}) == 12
    assert all(e["session_score"] is not None and e["topic"] for e in examples)
    assert "## zh" in (run / "report" / "report.md").read_text("utf-8")


def test_json_files_that_are_not_dialogues_are_reported(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "ja", data)
    (data / "notes.json").write_text('{"title": "not a dialogue"}', "utf-8")
    code, output = invoke("run", "--out", tmp_path / "run", "--data", data, "--lang", "ja")
    assert code == 0, output
    assert "skipped 1 JSON file(s) with no dialogue:" in output and "notes.json" in output


def test_a_bad_judge_setting_fails_before_any_reply_is_generated(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, output = invoke(
        "all", "--out", run, "--data", FIXTURES, "--lang", "en", "--judge-backend", "foo"
    )
    assert code == 2, output
    assert "Unknown backend 'foo'" in output
    assert not (run / "generations.jsonl").exists()
