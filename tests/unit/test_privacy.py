"""Tracing is off unless a host allows it. (A turn's network peers and logs:
tests/integration/test_privacy.py.)"""

from __future__ import annotations

from emostage import EmoStage


def test_tracing_can_be_allowed_explicitly() -> None:
    assert EmoStage(allow_tracing=True).context.allow_tracing
    assert not EmoStage().context.allow_tracing
