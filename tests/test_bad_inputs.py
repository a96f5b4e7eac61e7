"""Bad input, on the CLI and the API: one line and exit 2, or a typed `EmoStageError`."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import FakeListChatModel
from typer.testing import CliRunner

from emostage import Context, EmoStage, build_graph, screen_risk
from emostage.cli import app
from emostage.errors import ConfigError, InputError
from emostage.testing import ScriptedChatModel
from emostage.testing.ollama_server import FakeOllama

from .conftest import EXAMPLES

EXAMPLE = EXAMPLES / "en_breakup.json"
CLOSED = FakeOllama(fault="refuse")  # its url is a port nobody listens on


def run(*args: str, env: dict[str, str] | None = None, stdin: Any = None) -> Any:
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    assert "Traceback" not in result.output
    return result


def one_line(result: Any) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return str(lines[0])


# --- settings: an explicit flag or argument beats the environment ---------------------------


def test_an_explicit_backend_flag_beats_the_environment() -> None:
    with CLOSED.start():
        env = {"EMOSTAGE_BACKEND": "scripted", "OLLAMA_HOST": CLOSED.url}
        doctor = run("doctor", "--backend", "ollama", env=env)
        respond = run("respond", str(EXAMPLE), "--backend", "ollama", env=env)
    assert "Cannot reach Ollama" in one_line(doctor)
    assert "Cannot reach Ollama" in one_line(respond) and respond.stdout == ""


def test_an_explicit_argument_equal_to_the_default_still_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EMOSTAGE_BACKEND", "scripted")
    monkeypatch.setenv("EMOSTAGE_TIMEOUT", "5")
    assert Context().backend == "scripted" and Context().request_timeout_s == 5.0
    assert Context(backend="ollama").backend == "ollama"
    assert Context(request_timeout_s=120.0).request_timeout_s == 120.0


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "ten", ""])
def test_a_timeout_that_is_not_a_finite_number_is_refused(value: str) -> None:
    result = run(
        "respond", str(EXAMPLE), env={"EMOSTAGE_TIMEOUT": value, "EMOSTAGE_BACKEND": "scripted"}
    )
    if value:
        assert "EMOSTAGE_TIMEOUT" in one_line(result)
    else:  # an empty variable is an unset one
        assert result.exit_code == 0
    with pytest.raises(ConfigError, match="finite"):
        EmoStage(ScriptedChatModel(), turn_timeout_s=math.nan)


@pytest.mark.parametrize("host", ["http://[::1", "http://127.0.0.1:99999", "::::"])
def test_a_malformed_ollama_host_breaks_only_what_needs_ollama(host: str) -> None:
    env = {"OLLAMA_HOST": host}
    assert run("graph", env=env).exit_code == 0
    assert run("respond", str(EXAMPLE), "--backend", "scripted", env=env).exit_code == 0
    assert "OLLAMA_HOST" in one_line(run("doctor", env=env))


# --- user text is printed as it is, never as markup ------------------------------------------


@pytest.mark.parametrize("name", ["[/x].json", "[bold]x[/bold].json", "[red.json"])
def test_names_with_brackets_print_verbatim(name: str, tmp_path: Path) -> None:
    line = one_line(run("respond", str(tmp_path / name)))
    assert name in line
    session = run("sessions", "delete", name, "--yes", env={"XDG_DATA_HOME": str(tmp_path)})
    assert name in one_line(session)


# --- inputs that never end, block, nest too deeply or are not text ---------------------------


@pytest.mark.timeout(30)
def test_devices_fifos_and_directories_are_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)  # nobody writes to it: reading would block forever
    for path in ["/dev/zero", str(fifo), str(tmp_path)]:
        assert "not a regular file" in one_line(run("respond", path))
        assert "not a regular file" in one_line(run("graph", "--taxonomy", path))


@pytest.mark.timeout(60)
def test_stdin_is_read_only_up_to_the_limit() -> None:
    with open("/dev/zero", "rb") as zeros:
        result = subprocess.run(
            [sys.executable, "-m", "emostage", "respond", "-", "--backend", "scripted"],
            stdin=zeros,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2 and "over 16 MiB" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_deep_nesting_invalid_utf8_and_lone_surrogates_are_one_line(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000)
    assert "nests too deeply" in one_line(run("respond", str(deep)))
    latin1 = "Je n'ai pas dormi, déjà trois nuits.".encode("latin-1")
    stdin = run("respond", "-", "--backend", "scripted", stdin=latin1)
    assert "stdin is not valid UTF-8" in one_line(stdin)
    surrogate = tmp_path / "surrogate.json"
    surrogate.write_text('[{"role": "client", "content": "I feel \\ud800 lost"}]')
    assert "lone surrogate" in one_line(run("respond", str(surrogate), "--backend", "scripted"))
    with pytest.raises(InputError, match="lone surrogate"):
        EmoStage(ScriptedChatModel()).respond([{"role": "client", "content": "bad \udc80"}])


# --- the API: wrong types are typed errors ----------------------------------------------------


@pytest.mark.parametrize("dialogue", [None, 42, "I am sad", b"bytes", 3.5])
def test_a_dialogue_of_the_wrong_type_is_an_input_error(dialogue: Any) -> None:
    with pytest.raises(InputError, match="must be a list of turns"):
        EmoStage(ScriptedChatModel()).respond(dialogue)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: EmoStage("not a model"), "must be a LangChain chat model"),  # type: ignore[arg-type]
        (lambda: EmoStage(checkpointer="x"), "must be a LangGraph checkpointer"),  # type: ignore[arg-type]
        (lambda: EmoStage(ollama_host=None), "ollama_host must be str"),
        (lambda: EmoStage(max_tokens="many"), "max_tokens must be int"),
        (lambda: EmoStage(backend="cloud"), "Unknown backend 'cloud'"),
        (lambda: EmoStage(nonsense=1), "Unknown setting"),
        (lambda: build_graph(42), "must be a LangChain chat model"),  # type: ignore[arg-type]
        (
            lambda: Context(model=FakeListChatModel(responses=["x"])),  # type: ignore[arg-type]
            "Pass a chat model object as the first argument",
        ),
    ],
)
def test_wrong_settings_are_config_errors(make: Any, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        make()


def test_screen_risk_of_a_non_string_is_an_input_error() -> None:
    with pytest.raises(InputError):
        screen_risk(123)  # type: ignore[arg-type]


def test_a_chat_model_without_structured_output_falls_back_and_says_so() -> None:
    model = FakeListChatModel(responses=["I hear how heavy this week has been."])
    reply = EmoStage(model).respond([{"role": "client", "content": "Work is crushing me."}])
    assert reply.response == "I hear how heavy this week has been."
    assert any("no structured output" in f for f in reply.diagnostics.fallbacks)


def test_a_context_that_is_not_a_mapping_is_a_config_error() -> None:
    graph = build_graph(ScriptedChatModel())
    with pytest.raises(ConfigError, match="must be a Context or a mapping"):
        bad_context: Any = 42
        payload: Any = {"dialogue": [{"role": "client", "content": "hi"}]}
        graph.invoke(payload, context=bad_context)


def test_a_fallback_reply_is_announced_on_stderr() -> None:
    with FakeOllama(fault="not_json") as server:
        result = run("respond", str(EXAMPLE), env={"OLLAMA_HOST": server.url})
    assert result.exit_code == 0 and result.stdout.strip()
    assert "warning: fallback used" in result.stderr
