"""Live turns: `respond(on_stage=..., on_text=...)` reports the graph's nodes as they run and
the reply as it is delivered, and returns the same `Reply` as a plain `respond`.

(On a real terminal: tests/integration/test_cli_live.py; Ctrl-C in the middle of a turn:
tests/integration/test_cli_polish.py.)
"""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from emostage import EmoStage, ReplyDelta, shown_text
from emostage.cli.live import DRAFTING, stage_label
from emostage.nodes import (
    DELIVER_REPLY,
    PLAN_REPLY,
    READ_MESSAGES,
    RECOGNIZE_PHASE,
    SCREEN_RISK,
    TAKE_PERSPECTIVE,
)
from emostage.testing import ScriptedChatModel

ROUTINE = [{"role": "client", "content": "I keep crying at night since the move."}]
CRISIS = [{"role": "client", "content": "I want to end my life tonight."}]


def same_reply(one: Any, other: Any) -> None:
    drop = {"diagnostics": {"nodes": {"__all__": {"latency_ms"}}}, "thread_id": True}
    assert one.model_dump(exclude=drop) == other.model_dump(exclude=drop)


@pytest.mark.parametrize("dialogue", [ROUTINE, CRISIS])
def test_a_turn_told_as_it_goes_is_the_same_turn(dialogue: list[dict[str, str]]) -> None:
    stage = EmoStage(ScriptedChatModel(), locale="en-US")
    stages: list[frozenset[str]] = []
    chunks: list[ReplyDelta] = []
    told = stage.respond(dialogue, on_stage=stages.append, on_text=chunks.append)
    same_reply(told, stage.respond(dialogue))
    assert shown_text(chunks) == told.response
    assert stages[0] == {READ_MESSAGES}
    # The screen and the analysis run side by side, then the plan, a draft, the delivery.
    assert frozenset({SCREEN_RISK, RECOGNIZE_PHASE, TAKE_PERSPECTIVE}) <= set().union(*stages)
    assert any(len(running) > 1 for running in stages)
    labels = [stage_label(running) for running in stages]
    assert labels[0] == "reading the session" and DRAFTING in labels
    assert {PLAN_REPLY, DELIVER_REPLY} <= set().union(*stages)
    assert labels[-1] == "delivering the reply"


def test_a_turn_paused_for_review_is_told_the_same() -> None:
    stage = EmoStage(ScriptedChatModel(), review="crisis", checkpointer=InMemorySaver())
    told = stage.respond(CRISIS, thread_id="t1", on_stage=lambda _: None)
    plain = stage.respond(CRISIS, thread_id="t2")
    assert told.status == plain.status == "awaiting_review"
    assert told.pending_review == plain.pending_review
    assert stage.finish("t1") is None  # paused for review is not cut off
