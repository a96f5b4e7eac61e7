"""Live turns on a terminal: `emostage respond` on a real pty shows the stage, then the reply.

(The stages themselves: tests/unit/test_cli_live.py.)
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

from emostage.cli.live import STAGE_LABELS

from ..conftest import EXAMPLES, start_emostage


def test_respond_on_a_terminal_shows_the_stage_then_the_reply(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    process = start_emostage(
        "respond",
        EXAMPLES / "en_breakup.json",
        env={"EMOSTAGE_BACKEND": "scripted", "TERM": "xterm", "COLUMNS": "120"},
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
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


def test_chat_on_a_terminal_shows_the_reply_as_it_is_written(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    process = start_emostage(
        "chat",
        "--store",
        str(tmp_path / "sessions.sqlite"),
        env={"EMOSTAGE_BACKEND": "scripted", "TERM": "xterm", "COLUMNS": "200"},
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    shown, asked = b"", False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and b"(exploration)" not in shown:
        ready, _, _ = select.select([controller], [], [], 1.0)
        if ready:
            shown += os.read(controller, 4096)
        if b"you>" in shown and not asked:
            os.write(controller, b"I haven't slept since my job changed.\n")
            asked = True
    os.write(controller, b"/quit\n")
    assert process.wait(timeout=30) == 0
    os.close(controller)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode("utf-8", "replace"))
    # The first sentence was drawn alone, then redrawn with the second: shown as written.
    first = "counselor> (scripted test reply) That sounds really hard. \r"
    assert first in text, text
    whole = "counselor> (scripted test reply) That sounds really hard. Could you tell me more?"
    assert text.index(first) < text.index(whole) < text.index("(exploration)")
