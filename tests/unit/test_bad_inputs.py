"""Bad input, on the CLI and the API: one line and exit 2, or a typed `EmoStageError`."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import FakeListChatModel

from emostage import Context, EmoStage, build_graph, screen_risk
from emostage.errors import ConfigError, InputError
from emostage.testing import ScriptedChatModel

from ..conftest import EXAMPLES, emostage, one_error_line

EXAMPLE = EXAMPLES / "en_breakup.json"


# --- settings: an explicit flag or argument beats the environment ---------------------------


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
    result = emostage(
        "respond", EXAMPLE, env={"EMOSTAGE_TIMEOUT": value, "EMOSTAGE_BACKEND": "scripted"}
    )
    if value:
        assert "EMOSTAGE_TIMEOUT" in one_error_line(result)
    else:  # an empty variable is an unset one
        assert result.exit_code == 0
    with pytest.raises(ConfigError, match="finite"):
        EmoStage(ScriptedChatModel(), turn_timeout_s=math.nan)


@pytest.mark.parametrize("host", ["http://[::1", "http://127.0.0.1:99999", "::::"])
def test_a_malformed_ollama_host_breaks_only_what_needs_ollama(host: str) -> None:
    env = {"OLLAMA_HOST": host}
    assert emostage("graph", env=env).exit_code == 0
    assert emostage("respond", EXAMPLE, "--backend", "scripted", env=env).exit_code == 0
    assert "OLLAMA_HOST" in one_error_line(emostage("doctor", env=env))


# --- user text is printed as it is, never as markup ------------------------------------------


@pytest.mark.parametrize("name", ["[/x].json", "[bold]x[/bold].json", "[red.json"])
def test_names_with_brackets_print_verbatim(name: str, tmp_path: Path) -> None:
    line = one_error_line(emostage("respond", tmp_path / name))
    assert name in line
    session = emostage("sessions", "delete", name, "--yes", data_home=tmp_path)
    assert name in one_error_line(session)


# --- inputs that never end, block, nest too deeply or are not text ---------------------------


@pytest.mark.timeout(30)
def test_devices_fifos_and_directories_are_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)  # nobody writes to it: reading would block forever
    for path in ["/dev/zero", str(fifo), str(tmp_path)]:
        assert "not a regular file" in one_error_line(emostage("respond", path))
        assert "not a regular file" in one_error_line(emostage("graph", "--taxonomy", path))


def test_deep_nesting_invalid_utf8_and_lone_surrogates_are_one_line(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000)
    assert "nests too deeply" in one_error_line(emostage("respond", deep))
    latin1 = "Je n'ai pas dormi, déjà trois nuits.".encode("latin-1")
    stdin = emostage("respond", "-", "--backend", "scripted", input=latin1)
    assert "stdin is not valid UTF-8" in one_error_line(stdin)
    surrogate = tmp_path / "surrogate.json"
    surrogate.write_text('[{"role": "client", "content": "I feel \\ud800 lost"}]')
    assert "lone surrogate" in one_error_line(
        emostage("respond", surrogate, "--backend", "scripted")
    )
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
