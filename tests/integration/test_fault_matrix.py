"""Every model-server fault × every path a user takes, each against its documented bound.

The paths: `respond`, `arespond`, `stream`, `astream` and the CLI, each with a routine
turn and a crisis turn. The promise, whatever the server does:
- the turn ends within `turn_timeout_s` (plus a grace for the process itself);
- a routine turn ends in one typed, one-line `EmoStageError`, or in a fallback reply
  that the diagnostics (and the CLI, on stderr) say is one;
- a crisis turn always answers, with the crisis resources appended.
The CLI's `respond` ends in one line (exit 2) or in a fallback that stderr warns of.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from emostage import EmoStage, EmoStageError, Reply, shown_text
from emostage.errors import ModelUnavailableError, TransientModelError
from emostage.safety import screen_risk
from emostage.testing.ollama_server import FakeOllama
from emostage.testing.ollama_wire import FAULTS, Fault

from ..conftest import emostage, one_error_line

ROUTINE = "Work has been really stressful lately and I cannot focus on anything."

TIMEOUT_S = 0.6
TURN_TIMEOUT_S = 2.0
ATTEMPTS = 2
GRACE_S = 1.5  # thread hand-offs and the process's own work, on a loaded 2-core machine
SETTINGS: dict[str, Any] = {
    "request_timeout_s": TIMEOUT_S,
    "turn_timeout_s": TURN_TIMEOUT_S,
    "model_attempts": ATTEMPTS,
    "language": "en",
    "locale": "en-US",
}
ROUTINE = "I keep crying at night since the move."
CRISIS = "I want to kill myself tonight."
HOTLINE = "call or text 988"

# A call's own limit, or the turn's, whichever came first on this loaded machine.
TIMED_OUT = "within request_timeout_s|turn's deadline passed"
# How a routine turn ends, by fault: the error class and words, or a recorded fallback.
FAILS: dict[Fault, tuple[type[EmoStageError], str]] = {
    "refuse": (TransientModelError, "Cannot reach the model server"),
    "delay": (TransientModelError, TIMED_OUT),
    "http_500": (TransientModelError, r"failed \(500\)"),
    "http_429": (TransientModelError, r"busy \(429\)"),
    "model_not_found": (ModelUnavailableError, "not found"),
    "cut_stream": (TransientModelError, "connection to the model server broke"),
    "trickle": (TransientModelError, TIMED_OUT),
    "stall": (TransientModelError, TIMED_OUT),
    "not_ollama": (ModelUnavailableError, "is not Ollama"),
}
FALLS_BACK: dict[Fault, str] = {"not_json": "unreadable reply", "flood": "output cap"}

Path = Callable[[EmoStage, str], Reply | str]


def _respond(stage: EmoStage, text: str) -> Reply:
    return stage.respond([{"role": "client", "content": text}])


def _arespond(stage: EmoStage, text: str) -> Reply:
    return asyncio.run(stage.arespond([{"role": "client", "content": text}]))


def _stream(stage: EmoStage, text: str) -> str:
    return shown_text(stage.stream([{"role": "client", "content": text}]))


def _astream(stage: EmoStage, text: str) -> str:
    async def collect() -> str:
        return shown_text([c async for c in stage.astream([{"role": "client", "content": text}])])

    return asyncio.run(collect())


PATHS: dict[str, Path] = {
    "respond": _respond,
    "arespond": _arespond,
    "stream": _stream,
    "astream": _astream,
}


@pytest.fixture(autouse=True, scope="module")
def _warm_process() -> None:
    """One healthy turn first: the bounds are about the server, not this process's imports."""
    with FakeOllama() as server:
        _respond(EmoStage(ollama_host=server.url, **SETTINGS), ROUTINE)


def test_the_matrix_covers_every_fault_the_stand_in_server_has() -> None:
    assert set(FAILS) | set(FALLS_BACK) == set(FAULTS)


def _server(fault: Fault) -> FakeOllama:
    return FakeOllama(fault=fault, delay_s=4 * TIMEOUT_S, retry_after=0.2)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fault", FAULTS)
def test_a_routine_turn_ends_in_time_with_one_clear_line_or_a_recorded_fallback(
    fault: Fault,
) -> None:
    with _server(fault) as server:
        stage = EmoStage(ollama_host=server.url, **SETTINGS)
        for name, path in PATHS.items():
            started = time.monotonic()
            try:
                outcome: Reply | str | EmoStageError = path(stage, ROUTINE)
            except EmoStageError as exc:
                outcome = exc
            elapsed = time.monotonic() - started
            assert elapsed < TURN_TIMEOUT_S + GRACE_S, f"{name}: {elapsed:.2f} s"
            if fault in FAILS:
                kind, words = FAILS[fault]
                assert isinstance(outcome, kind), f"{name}: {outcome!r}"
                assert re.search(words, str(outcome)) and "\n" not in str(outcome), name
            elif isinstance(outcome, Reply):
                assert outcome.response.startswith("I'm here and listening"), name
                assert any(FALLS_BACK[fault] in f for f in outcome.diagnostics.fallbacks), name
            else:
                assert isinstance(outcome, str), f"{name}: {outcome!r}"
                assert outcome.startswith("I'm here and listening"), f"{name}: {outcome!r}"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fault", FAULTS)
def test_a_crisis_turn_always_answers_in_time_with_the_resources(fault: Fault) -> None:
    with _server(fault) as server:
        stage = EmoStage(ollama_host=server.url, **SETTINGS)
        for name, path in PATHS.items():
            started = time.monotonic()
            outcome = path(stage, CRISIS)
            elapsed = time.monotonic() - started
            assert elapsed < TURN_TIMEOUT_S + GRACE_S, f"{name}: {elapsed:.2f} s"
            text = outcome.response if isinstance(outcome, Reply) else outcome
            assert HOTLINE in text, f"{name}: {text!r}"
            if isinstance(outcome, Reply):
                assert outcome.risk.level == "crisis"
                assert any("draft_crisis" in f for f in outcome.diagnostics.fallbacks), name


def _cli_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The matrix's settings, as a CLI user sets them: in the environment."""
    for name, value in {
        "EMOSTAGE_TIMEOUT": TIMEOUT_S,
        "EMOSTAGE_TURN_TIMEOUT": TURN_TIMEOUT_S,
        "EMOSTAGE_MODEL_ATTEMPTS": ATTEMPTS,
        "EMOSTAGE_LOCALE": "en-US",
    }.items():
        monkeypatch.setenv(name, str(value))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fault", FAULTS)
def test_the_cli_ends_in_time_with_one_line_or_a_warned_fallback(
    fault: Fault, monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    _cli_settings(monkeypatch)
    # A routine turn, which no screen layer flags: the faults, not the crisis path, decide.
    # (examples/en_breakup.json has a turn the learned screen flags: README, Safety.)
    dialogue = tmp_path / "routine.json"
    dialogue.write_text(json.dumps([{"role": "client", "content": ROUTINE}]), "utf-8")
    assert screen_risk(ROUTINE).level == "none"
    with _server(fault) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        started = time.monotonic()
        result = emostage("respond", dialogue)  # no traceback, it asserts
        elapsed = time.monotonic() - started
    # The CLI first checks the server (preflight), whose own wait is at most 5 s.
    assert elapsed < TURN_TIMEOUT_S + GRACE_S + 5.0
    lines = result.stderr.strip().splitlines()
    if fault in FALLS_BACK:
        assert result.exit_code == 0, result.stderr
        assert result.stdout.strip().startswith("I'm here and listening")
        assert any(line.startswith("warning: fallback used") for line in lines), lines
    else:
        one_error_line(result)  # exit 2, and one line on stderr: `error: ...`
        assert result.stderr.startswith("error: ")  # nothing before it, not even a blank line


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fault", ["trickle", "stall", "delay", "http_500", "cut_stream", "flood"])
def test_chat_shows_a_person_in_crisis_the_numbers_whatever_the_server_does(
    fault: Fault, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """The server passes the preflight (it lists the model), then fails every chat request."""
    _cli_settings(monkeypatch)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with _server(fault) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        started = time.monotonic()
        result = emostage("chat", input=f"{CRISIS}\n/quit\n")
        elapsed = time.monotonic() - started
    assert elapsed < TURN_TIMEOUT_S + GRACE_S + 2.0
    assert result.exit_code == 0, result.output
    assert HOTLINE in result.stdout and "(crisis)" in result.stdout
    assert "warning: fallback used" in result.stderr
