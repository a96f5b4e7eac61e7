"""What a user sees when the model server misbehaves: a clear error or a recorded fallback."""

from __future__ import annotations

import asyncio
import time

import pytest
from typer.testing import CliRunner

from emostage import EmoStage, ModelUnavailableError, Reply
from emostage.cli import app
from emostage.testing.ollama_server import FAULTS, FakeOllama, Fault

from .conftest import EXAMPLES

DIALOGUE = [{"role": "client", "content": "I keep crying at night."}]
TIMEOUT_S = 0.5
ERRORS: dict[Fault, str] = {
    "refuse": "Cannot reach the model server",
    "delay": "timed out",
    "http_500": r"failed \(500\): model runner has unexpectedly stopped",
    "model_not_found": "not found",
    "cut_stream": "connection to the model server broke",
}


def respond(server: FakeOllama, *, use_async: bool) -> Reply:
    stage = EmoStage(ollama_host=server.url, request_timeout_s=TIMEOUT_S)
    if use_async:
        return asyncio.run(stage.arespond(DIALOGUE))
    return stage.respond(DIALOGUE)


def test_every_fault_mode_is_covered() -> None:
    assert set(ERRORS) | {"not_json"} == set(FAULTS)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("fault", list(ERRORS))
def test_server_faults_raise_one_clear_error_without_hanging(fault: Fault, use_async: bool) -> None:
    with FakeOllama(fault=fault, delay_s=5 * TIMEOUT_S) as server:
        started = time.monotonic()
        with pytest.raises(ModelUnavailableError, match=ERRORS[fault]) as error:
            respond(server, use_async=use_async)
    assert time.monotonic() - started < 4 * TIMEOUT_S + 1
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_non_json_body_falls_back_and_is_recorded(use_async: bool) -> None:
    with FakeOllama(fault="not_json") as server:
        reply = respond(server, use_async=use_async)
    assert reply.phase == "exploration"
    assert reply.perspective is not None and reply.perspective.is_empty()
    assert reply.response.startswith("I'm here and listening")
    nodes = [f.split(":")[0] for f in reply.diagnostics.fallbacks]
    assert nodes == ["recognize_phase", "take_perspective", "draft_exploration"]


@pytest.mark.parametrize("fault", ["refuse", "http_500", "cut_stream", "delay"])
def test_cli_reports_a_fault_in_one_line(fault: Fault, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOSTAGE_TIMEOUT", str(TIMEOUT_S))
    with FakeOllama(fault=fault, delay_s=5 * TIMEOUT_S) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        result = CliRunner().invoke(app, ["respond", str(EXAMPLES / "en_breakup.json")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_preflight_names_a_model_the_server_lacks() -> None:
    with FakeOllama(models=("llama3.2:1b",)) as server:
        stage = EmoStage(ollama_host=server.url)
        with pytest.raises(ModelUnavailableError, match=r"ollama pull qwen2\.5:7b"):
            stage.preflight()
