"""Nothing lost: a chat killed mid-turn resumes with every earlier word.

(Listing and erasing sessions: tests/unit/test_persistence.py.)
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from emostage.testing.ollama_server import FakeOllama

from ..conftest import emostage, start_emostage


def test_a_chat_killed_mid_turn_resumes_with_every_message(tmp_path: Path) -> None:
    # The model answers slowly, so the process is surely inside a model call when killed.
    with FakeOllama(fault="delay", delay_s=30) as server:
        chat = start_emostage(
            "chat", "--session", "night", env={"OLLAMA_HOST": server.url}, data_home=tmp_path,
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        assert chat.stdin is not None
        chat.stdin.write("I haven't slept in three days.\n")
        chat.stdin.flush()
        assert server.wait_for_requests(timeout_s=30), "the chat never reached the model"
        os.kill(chat.pid, signal.SIGKILL)
        chat.wait(timeout=10)

    resumed = emostage(
        "chat", "--session", "night", input="And I keep thinking about work.\n/quit\n",
        env={"EMOSTAGE_BACKEND": "scripted"}, data_home=tmp_path, process=True, timeout=60,
    )  # fmt: skip
    assert resumed.exit_code == 0, resumed.stderr
    assert "I haven't slept in three days." in resumed.stdout  # shown again on resume
    # The cut-off turn is finished first, before the client is asked for more: then the
    # next message gets a turn of its own.
    assert resumed.stdout.count("(scripted test reply)") == 2

    listing = emostage("sessions", "list", data_home=tmp_path)
    assert re.match(r"night\s+4 turns", listing.stdout)  # message, reply, message, reply
