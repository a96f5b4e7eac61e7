"""`emostage eval` as it runs for real: on the embedded model, and killed mid-way then resumed.

(On the scripted model, in this process: tests/unit/test_eval_runs.py.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from emostage.testing.ollama_server import FakeOllama

from ..conftest import EVAL_DATA as FIXTURES
from ..conftest import REPORT_TABLES, emostage, start_emostage, wait_until
from ..conftest import read_jsonl as lines


def test_a_run_killed_mid_way_resumes_without_duplicates_or_loss(tmp_path: Path) -> None:
    run = tmp_path / "run"
    command: list[str | Path] = [
        "eval", "run", "--out", run, "--data", FIXTURES, "--lang", "ja",
        "--systems", "baseline,reference", "--concurrency", "1",
    ]  # fmt: skip
    with FakeOllama(fault="delay", delay_s=0.3) as server:
        env = {"OLLAMA_HOST": server.url}
        process = start_emostage(
            *command, env=env, data_home=tmp_path, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        log = run / "generations.jsonl"
        wait_until(lambda: log.exists() and len(lines(log)) >= 5, 60)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        written = len(lines(log))
        assert 5 <= written < 16, "the kill should land mid-run"
        with log.open("a") as file:
            file.write('{"key": "ja9001#4|base')  # as if the kill cut a line in half

        resumed = emostage(*command, env=env, data_home=tmp_path, process=True)
    assert resumed.exit_code == 0, resumed.stderr
    assert f"{16 - written} new, {written} already done" in resumed.stderr
    keys = [record["key"] for record in lines(log)]
    assert len(keys) == len(set(keys)) == 16  # 8 examples x 2 systems


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
    result = emostage(
        "eval", "all", "--out", run, "--data", data, "--lang", "ja,zh,en", "--backend", "llamacpp",
        "--systems", "baseline,emostage,reference", env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    generations = lines(run / "generations.jsonl")
    assert len(generations) == 9 and all(g["reply"] for g in generations)
    assert all(g["input_tokens"] > 0 for g in generations if g["system"] != "reference")
    assert len(lines(run / "scores.jsonl")) == 9 and len(lines(run / "pairs.jsonl")) == 12
    config = json.loads((run / "config.json").read_text())
    assert config["generator"]["digest"].startswith("sha256:")
    report = (run / "report" / "report.md").read_text("utf-8")
    assert all(report.count(title) == 3 for title in REPORT_TABLES)
