"""The optional guard-model layer without a server: off by default, adapters by family name.

(Through a real HTTP round trip: tests/integration/test_guard.py.)
"""

from __future__ import annotations

from typing import Any

import pytest

from emostage import ConfigError, EmoStage
from emostage.safety.guard import guard_adapter
from emostage.testing import ScriptedChatModel


def test_the_guard_is_off_by_default_and_an_unknown_family_is_one_line() -> None:
    model = ScriptedChatModel()
    reply = EmoStage(model).respond([{"role": "client", "content": "Hello."}])
    assert "check_safety_model" not in {n.node for n in reply.diagnostics.nodes}
    assert len(model.calls) == 3
    with pytest.raises(ConfigError, match="Unknown guard model 'gpt-4'"):
        EmoStage(model, safety_model="gpt-4")


def test_adapters_are_chosen_by_family_name() -> None:
    names: dict[str, Any] = {"llama-guard3:8b": "llama-guard", "Qwen3Guard-Gen-4B": "qwen3guard"}
    for name, family in names.items():
        assert guard_adapter(name).family == family
