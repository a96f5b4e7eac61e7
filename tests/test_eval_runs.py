"""`emostage eval` end to end: scripted and embedded models, resume after a kill, ratings."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from emostage.cli import app
from emostage.testing.ollama_server import FakeOllama

from .test_persistence import chat_env

FIXTURES = Path(__file__).parent / "data" / "eval"
KOKOROCHAT = Path(__file__).parents[2] / "shared" / "data" / "kokorochat"
SCRIPTED = {"EMOSTAGE_BACKEND": "scripted"}
TABLES = (
    "### Summary",
    "Reference-based metrics",
    "LLM-judge scores",
    "Pairwise preference against the baseline",
    "Phase sanity",
    "Cost per reply (generator model)",
)
PNG = b"\x89PNG\r\n\x1a\n"


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["eval", *map(str, args)], env=env or SCRIPTED)
    return result.exit_code, result.output


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


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
    assert all(report.count(title) == 3 for title in TABLES)
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


def test_a_run_killed_mid_way_resumes_without_duplicates_or_loss(tmp_path: Path) -> None:
    run = tmp_path / "run"
    command = [
        sys.executable, "-m", "emostage", "eval", "run", "--out", str(run), "--data",
        str(FIXTURES), "--lang", "ja", "--systems", "baseline,reference", "--concurrency", "1",
    ]  # fmt: skip
    with FakeOllama(fault="delay", delay_s=0.3) as server:
        env = chat_env(tmp_path, OLLAMA_HOST=server.url)
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        log = run / "generations.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not log.exists() or len(lines(log)) < 5):
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        written = len(lines(log))
        assert 5 <= written < 16, "the kill should land mid-run"
        with log.open("a") as file:
            file.write('{"key": "ja9001#4|base')  # as if the kill cut a line in half

        resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{16 - written} new, {written} already done" in resumed.stderr
    keys = [record["key"] for record in lines(log)]
    assert len(keys) == len(set(keys)) == 16  # 8 examples x 2 systems


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


@pytest.mark.real_model
def test_the_embedded_model_runs_every_step(tmp_path: Path) -> None:
    """Real generation and judging on CPU; the tiny base model's scores mean nothing."""
    data = tmp_path / "one_per_language.jsonl"
    chosen: dict[str, str] = {}
    for line in (FIXTURES / "generic.jsonl").read_text("utf-8").splitlines():
        chosen.setdefault(json.loads(line)["language"], line)
    data.write_text("\n".join(chosen.values()) + "\n", "utf-8")
    run = tmp_path / "run"
    env = {"EMOSTAGE_MAX_TOKENS": "96", "EMOSTAGE_N_CTX": "4096"}
    code, output = invoke(
        "all", "--out", run, "--data", data, "--lang", "ja,zh,en", "--backend", "llamacpp",
        "--systems", "baseline,emostage,reference", env=env,
    )  # fmt: skip
    assert code == 0, output
    generations = lines(run / "generations.jsonl")
    assert len(generations) == 9 and all(g["reply"] for g in generations)
    assert all(g["input_tokens"] > 0 for g in generations if g["system"] != "reference")
    assert len(lines(run / "scores.jsonl")) == 9 and len(lines(run / "pairs.jsonl")) == 12
    config = json.loads((run / "config.json").read_text())
    assert config["generator"]["digest"].startswith("sha256:")
    report = (run / "report" / "report.md").read_text("utf-8")
    assert all(report.count(title) == 3 for title in TABLES)


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
