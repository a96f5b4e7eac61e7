"""Backend selection: `auto`, and the one-line errors of a backend that cannot run."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from emostage import ConfigError, EmoStage
from emostage.context import Context
from emostage.models.backends.llamacpp import merge_roles
from emostage.models.source import build_chat_model, resolve_backend
from emostage.testing.ollama_server import FakeOllama


def closed_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_auto_picks_ollama_when_it_serves_the_model() -> None:
    with FakeOllama() as server:
        context, note = resolve_backend(Context(backend="auto", ollama_host=server.url))
    assert context.backend == "ollama"
    assert note == f"backend: ollama at {server.url} with qwen2.5:7b"


@pytest.mark.real_model
def test_auto_falls_back_to_the_embedded_model_and_says_why() -> None:
    stage = EmoStage(backend="auto", ollama_host=closed_url())
    note = stage.preflight()
    assert stage.context.backend == "llamacpp"
    assert note.startswith("backend: llamacpp with the embedded Gemma 3 270M base model")
    assert "Cannot reach Ollama" in note and "qwen2.5:7b or larger" in note


def test_explicit_backends_need_no_choice() -> None:
    context = Context(backend="ollama")
    assert resolve_backend(context) == (context, "")


def test_a_missing_gguf_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No GGUF file at"):
        build_chat_model(Context(backend="llamacpp", model_path=str(tmp_path / "none.gguf")))
    with pytest.raises(ConfigError, match="No GGUF file at"):
        EmoStage(backend="llamacpp", model_path=str(tmp_path / "none.gguf")).preflight()


def test_gemma_prompts_keep_the_persona_and_alternate_roles() -> None:
    messages = [SystemMessage("persona"), HumanMessage("transcript"), HumanMessage("task")]
    assert merge_roles(messages, fold_system=True) == [
        {"role": "user", "content": "persona\n\ntranscript\n\ntask"}
    ]
    assert merge_roles(messages) == [
        {"role": "system", "content": "persona"},
        {"role": "user", "content": "transcript\n\ntask"},
    ]


def test_auto_is_resolved_once_not_per_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    from emostage.models.backends import ollama

    probes: list[str] = []
    real_preflight = ollama.preflight_ollama

    def counted(context: Context) -> None:
        probes.append(context.ollama_host)
        real_preflight(context)

    monkeypatch.setattr(ollama, "preflight_ollama", counted)
    with FakeOllama() as server:
        stage = EmoStage(backend="auto", ollama_host=server.url)  # never preflighted
        for text in ("I can't sleep.", "Work is heavy.", "I feel alone."):
            stage.respond([{"role": "client", "content": text}])
    assert stage.context.backend == "ollama"
    assert len(probes) == 1, probes


@pytest.mark.parametrize(
    ("name", "value"), [("EMOSTAGE_TAXONOMY", "/nonexistent"), ("OLLAMA_HOST", "http://[::1")]
)
def test_importing_emostage_has_no_side_effects(name: str, value: str) -> None:
    import os
    import subprocess
    import sys

    for command in (["-c", "import emostage"], ["-m", "emostage", "--help"]):
        done = subprocess.run(
            [sys.executable, *command],
            env=os.environ | {name: value},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
