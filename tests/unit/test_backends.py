"""Backend selection without a server: explicit backends, and the one-line errors of a backend
that cannot run. (`auto` against a server: tests/integration/test_backends.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from emostage import ConfigError, EmoStage
from emostage.analysis import Perspective
from emostage.context import Context
from emostage.models.backends.llamacpp import compact_json_grammar, merge_roles
from emostage.models.source import build_chat_model, resolve_backend, with_token_cap
from emostage.testing import ScriptedChatModel


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


def test_llamacpp_grammar_is_the_schemas_without_optional_spaces() -> None:
    # Each optional space is a token a small model may decode; the JSON is the same.
    schema = json.dumps(Perspective.model_json_schema())
    rules = compact_json_grammar(schema)._grammar.splitlines()
    assert 'space ::= ""' in rules
    assert not [rule for rule in rules if rule.startswith("space ::=") and rule != 'space ::= ""']
    # Properties keep their order: the perspective is written before the risk.
    keys = [f'"\\"{key}\\""' for key in ("feel", "sit", "view", "need", "unsaid", "risk")]
    text = "\n".join(rules)
    assert all(key in text for key in keys)


def test_token_caps_copy_the_model_and_share_what_it_loaded() -> None:
    model = build_chat_model(Context(backend="openai", base_url="http://127.0.0.1:9/v1"))
    capped = with_token_cap(model, 777)
    assert capped is not model and getattr(capped, "max_tokens") == 777  # noqa: B009
    assert getattr(model, "max_tokens") == Context().max_tokens  # noqa: B009
    assert capped.client is model.client  # type: ignore[attr-defined]
    scripted = ScriptedChatModel()
    assert with_token_cap(scripted, 777) is scripted  # no output limit to set
