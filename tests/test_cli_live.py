"""Live turns: the stage shown while a turn runs, the reply streamed on a terminal, Ctrl-C.

- `respond(on_stage=..., on_text=...)` reports the graph's nodes as they run and the reply
  as it is delivered, and returns the same `Reply` as a plain `respond`;
- `emostage respond` on a terminal (a real pty) shows the stage, then the reply;
- (Ctrl-C in the middle of a turn: tests/test_cli_polish.py.)
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from emostage import EmoStage
from emostage.cli.live import DRAFTING, STAGE_LABELS, stage_label
from emostage.nodes import (
    DELIVER_REPLY,
    PLAN_REPLY,
    READ_MESSAGES,
    RECOGNIZE_PHASE,
    SCREEN_RISK,
    TAKE_PERSPECTIVE,
)
from emostage.testing import ScriptedChatModel

from .conftest import EXAMPLES

ROUTINE = [{"role": "client", "content": "I keep crying at night since the move."}]
CRISIS = [{"role": "client", "content": "I want to end my life tonight."}]


def same_reply(one: Any, other: Any) -> None:
    drop = {"diagnostics": {"nodes": {"__all__": {"latency_ms"}}}, "thread_id": True}
    assert one.model_dump(exclude=drop) == other.model_dump(exclude=drop)


@pytest.mark.parametrize("dialogue", [ROUTINE, CRISIS])
def test_a_turn_told_as_it_goes_is_the_same_turn(dialogue: list[dict[str, str]]) -> None:
    stage = EmoStage(ScriptedChatModel(), locale="en-US")
    stages: list[frozenset[str]] = []
    chunks: list[str] = []
    told = stage.respond(dialogue, on_stage=stages.append, on_text=chunks.append)
    same_reply(told, stage.respond(dialogue))
    assert "".join(chunks) == told.response
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


def test_respond_on_a_terminal_shows_the_stage_then_the_reply(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EMOSTAGE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "emostage", "respond", str(EXAMPLES / "en_breakup.json")],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env=environment | {"EMOSTAGE_BACKEND": "scripted", "TERM": "xterm", "COLUMNS": "120"},
    )
    os.close(terminal)
    shown = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 1.0)
        if ready:
            try:
                piece = os.read(controller, 4096)
            except OSError:  # the process ended and closed its side
                break
            if not piece:
                break
            shown += piece
        elif process.poll() is not None:
            break
    os.close(controller)
    assert process.wait(timeout=30) == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode("utf-8", "replace"))
    shown_stages = [label for label in STAGE_LABELS if label in text]
    assert shown_stages, text  # the spinner named a stage (which ones depends on timing)
    assert "(scripted test reply)" in text and "phase:" in text
