"""Ctrl-C on a real process: every command ends at once and says what is kept.

- `respond` with a model call in flight exits 130 at once, not when LangGraph's worker
  threads let go (the call's deadline);
- a resumed chat that is finishing a cut-off turn exits at once on Ctrl-C too, says the
  message is saved, and a later chat answers it exactly once.

(What a Ctrl-C says, review and piped output: tests/unit/test_cli_polish.py.)
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from emostage.testing.ollama_server import FakeOllama

from ..conftest import EXAMPLES, emostage, start_emostage

MESSAGE = "I haven't slept in [bold]three[/bold] days."


def interrupt_stalled(args: list[str], stdin: str, data_home: Path) -> tuple[int, float, str]:
    """Run `emostage ARGS` on a server that never answers; Ctrl-C once the model is asked.

    Returns:
        The exit code, the seconds from SIGINT to exit, and what it wrote to stderr.
    """
    with FakeOllama(fault="stall") as server:
        process = start_emostage(
            *args,
            "--backend",
            "ollama",
            env={"OLLAMA_HOST": server.url},
            data_home=data_home,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdin is not None
        process.stdin.write(stdin)
        process.stdin.flush()
        assert server.wait_for_requests(timeout_s=60), "the turn never reached the model"
        time.sleep(0.5)  # well inside the call, which never ends
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        _, errors = process.communicate(timeout=180)
        return process.returncode, time.monotonic() - interrupted, errors


@pytest.mark.timeout(240)
def test_ctrl_c_ends_respond_at_once(tmp_path: Path) -> None:
    args = ["respond", str(EXAMPLES / "en_breakup.json")]
    code, took, errors = interrupt_stalled(args, "", tmp_path)
    assert code == 130
    assert took < 5, f"exit took {took:.1f} s after Ctrl-C"  # not the call's 120 s deadline
    assert "Interrupted: no reply was written." in errors


@pytest.mark.timeout(240)
def test_ctrl_c_while_a_resumed_chat_finishes_the_cut_off_turn(tmp_path: Path) -> None:
    chat = ["chat", "--session", "night"]
    code, took, errors = interrupt_stalled(chat, f"{MESSAGE}\n", tmp_path)
    assert code == 130 and "Your message is saved" in errors
    assert took < 5, f"exit took {took:.1f} s after Ctrl-C"  # not the call's 120 s deadline
    assert "emostage chat --session night" in errors
    # Resumed on a server that still never answers: the cut-off turn runs first, and Ctrl-C
    # there ends the process at once too, with the message still saved.
    code, took, errors = interrupt_stalled(chat, "", tmp_path)
    assert code == 130
    assert took < 5, f"exit took {took:.1f} s after Ctrl-C"
    assert "Your message is saved; for its reply, resume with: emostage chat --session night" in (
        errors
    )

    resumed = emostage(
        *chat, input="/quit\n", env={"EMOSTAGE_BACKEND": "scripted"}, data_home=tmp_path,
        process=True, timeout=60,
    )  # fmt: skip
    assert resumed.exit_code == 0, resumed.stderr
    assert resumed.stdout.count(MESSAGE) == 1  # stored once, shown as it was typed
    assert resumed.stdout.count("(scripted test reply)") == 1
