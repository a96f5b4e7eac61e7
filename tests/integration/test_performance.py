"""What the performance work relies on, over HTTP: a simulated server takes the time its speed
implies, the analysis can run on a smaller model, and the benchmark's smoke run reports every
goal. Behaviour is asserted, never timing budgets. (In this process:
tests/unit/test_performance.py.)"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from emostage import EmoStage, ModelUnavailableError
from emostage.testing import ScriptedChatModel
from emostage.testing.ollama_server import FakeOllama
from emostage.testing.server_speed import ServerSpeed

from ..conftest import ROOT
from ..unit.test_performance import DIALOGUE


def test_a_simulated_server_takes_the_time_its_speed_implies() -> None:
    speed = ServerSpeed(prefill_tps=10_000, decode_tps=200, slots=1)
    model = ScriptedChatModel(defaults={"text": " ".join(["word"] * 40)})
    with FakeOllama(model, speed=speed) as server:
        started = time.perf_counter()
        EmoStage(ollama_host=server.url).respond(DIALOGUE, mode="baseline")
        elapsed = time.perf_counter() - started
    timing, generated = server.served[0]
    assert generated == 40
    assert elapsed >= timing.prefill_s + generated / speed.decode_tps


def test_the_analysis_can_run_on_a_smaller_model() -> None:
    with FakeOllama(models=("qwen2.5:7b", "qwen2.5:1.5b")) as server:
        stage = EmoStage(ollama_host=server.url, analysis_model="qwen2.5:1.5b")
        stage.preflight()
        stage.respond(DIALOGUE)
    used = [(r["model"], "format" in r) for r in server.requests]
    assert sorted(used) == [("qwen2.5:1.5b", True), ("qwen2.5:1.5b", True), ("qwen2.5:7b", False)]


def test_a_missing_analysis_model_is_caught_before_the_first_turn() -> None:
    with FakeOllama(models=("qwen2.5:7b",)) as server:
        stage = EmoStage(ollama_host=server.url, analysis_model="qwen2.5:1.5b")
        with pytest.raises(ModelUnavailableError, match=r"ollama pull qwen2\.5:1\.5b"):
            stage.preflight()


@pytest.mark.real_model
def test_the_benchmark_smoke_run_reports_every_goal(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = (tmp_path / "results.md").read_text("utf-8")
    goals = [
        "1. turn / baseline, simulated server",
        "2. turn / baseline, small analysis model",
        "3. turn / baseline, embedded model on CPU, no retries",
        "4. first text shown",
        "5. framework overhead",
        "6. 50 concurrent `arespond`",
        "7. analysis tokens decoded per turn",
        "8. prompt tokens past the window",
        "9. eval throughput",
        "10. 3 candidates against 1",
    ]
    for goal in goals:
        assert f"| {goal}" in results, goal
    assert "quick smoke run" in results
    assert (tmp_path / "results.png").read_bytes().startswith(b"\x89PNG")
