"""Backend selection without a server: explicit backends, and the one-line errors of a backend
that cannot run. (`auto` against a server: tests/integration/test_backends.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from emostage import ConfigError, EmoStage
from emostage.context import Context
from emostage.models.backends.llamacpp import merge_roles
from emostage.models.source import build_chat_model, resolve_backend


def test_explicit_backends_need_no_choice() -> None:
    context = Context(backend="ollama")
    assert resolve_backend(context) == (context, "")


def test_a_missing_gguf_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No GGUF file at"):
        build_chat_model(Context(backend="llamacpp", model_path=str(tmp_path / "none.gguf")))
    with pytest.raises(ConfigError, match="No GGUF file at"):
        EmoStage(backend="llamacpp", model_path=str(tmp_path / "none.gguf")).preflight()


def test_openai_backend_needs_a_base_url() -> None:
    with pytest.raises(ConfigError, match="--base-url"):
        EmoStage(backend="openai").preflight()


def test_gemma_prompts_keep_the_persona_and_alternate_roles() -> None:
    messages = [SystemMessage("persona"), HumanMessage("transcript"), HumanMessage("task")]
    assert merge_roles(messages, fold_system=True) == [
        {"role": "user", "content": "persona\n\ntranscript\n\ntask"}
    ]
    assert merge_roles(messages) == [
        {"role": "system", "content": "persona"},
        {"role": "user", "content": "transcript\n\ntask"},
    ]
