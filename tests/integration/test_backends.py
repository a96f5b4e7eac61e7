"""Backend selection against servers: `auto` finds Ollama or falls back, once per stage;
importing emostage acts on no setting."""

from __future__ import annotations

import subprocess
import sys

import pytest

from emostage import EmoStage
from emostage.context import Context
from emostage.models.source import resolve_backend
from emostage.testing.ollama_server import FakeOllama

from ..conftest import cli_env, closed_url, emostage


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
    imported = subprocess.run(
        [sys.executable, "-c", "import emostage"],
        env=cli_env(**{name: value}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    helped = emostage("--help", env={name: value}, process=True, timeout=60)
    for exit_code, stderr in (
        (imported.returncode, imported.stderr),
        (helped.exit_code, helped.stderr),
    ):
        assert exit_code == 0, stderr
        assert stderr == ""
