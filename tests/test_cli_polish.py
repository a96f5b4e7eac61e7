"""CLI polish: Ctrl-C ends every command at once and says what is kept; output stays as it was.

- `respond` with a model call in flight exits 130 at once, not when LangGraph's worker
  threads let go (the call's deadline);
- a resumed chat that is finishing a cut-off turn exits at once on Ctrl-C too, says the
  message is saved, and a later chat answers it exactly once;
- what a Ctrl-C says follows the session's checkpoints: a message is "saved" once the turn
  wrote any, and otherwise echoed back as `not saved: ...`, never read as markup;
- a turn paused for review is resumed by review, not finished as a cut-off turn;
- piped `respond` prints exactly the reply `EmoStage.respond` returns.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emostage import EmoStage
from emostage.cli import app
from emostage.cli import chat as chat_module
from emostage.conversation import load_dialogue
from emostage.sessions import open_store
from emostage.testing import ScriptedChatModel
from emostage.testing.ollama_server import FakeOllama

from .conftest import EXAMPLES

MESSAGE = "I haven't slept in [bold]three[/bold] days."
CRISIS = "I want to kill myself tonight."
runner = CliRunner()


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The process environment less EMOSTAGE_ settings, with sessions under `tmp_path`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("EMOSTAGE_")}
    return kept | {"XDG_DATA_HOME": str(tmp_path)} | extra


def interrupt_stalled(args: list[str], stdin: str, env: dict[str, str]) -> tuple[int, float, str]:
    """Run `emostage ARGS` on a server that never answers; Ctrl-C once the model is asked.

    Returns:
        The exit code, the seconds from SIGINT to exit, and what it wrote to stderr.
    """
    with FakeOllama(fault="stall") as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "emostage", *args, "--backend", "ollama"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env | {"OLLAMA_HOST": server.url},
            text=True,
        )
        assert process.stdin is not None
        process.stdin.write(stdin)
        process.stdin.flush()
        deadline = time.monotonic() + 60
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.requests, "the turn never reached the model"
        time.sleep(0.5)  # well inside the call, which never ends
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        _, errors = process.communicate(timeout=180)
        return process.returncode, time.monotonic() - interrupted, errors


@pytest.mark.timeout(240)
def test_ctrl_c_ends_respond_at_once(tmp_path: Path) -> None:
    args = ["respond", str(EXAMPLES / "en_breakup.json")]
    code, took, errors = interrupt_stalled(args, "", environment(tmp_path))
    assert code == 130
    assert took < 5, f"exit took {took:.1f} s after Ctrl-C"  # not the call's 120 s deadline
    assert "Interrupted: no reply was written." in errors


@pytest.mark.timeout(240)
def test_ctrl_c_while_a_resumed_chat_finishes_the_cut_off_turn(tmp_path: Path) -> None:
    env = environment(tmp_path)
    chat = ["chat", "--session", "night"]
    code, took, errors = interrupt_stalled(chat, f"{MESSAGE}\n", env)
    assert code == 130 and "Your message is saved" in errors
    assert took < 5, f"exit took {took:.1f} s after Ctrl-C"  # not the call's 120 s deadline
    assert "emostage chat --session night" in errors
    # Resumed on a server that still never answers: the cut-off turn runs first, and Ctrl-C
    # there ends the process at once too, with the message still saved.
    code, took, errors = interrupt_stalled(chat, "", env)
    assert code == 130
    assert took < 5, f"exit took {took:.1f} s after Ctrl-C"
    assert "Your message is saved; for its reply, resume with: emostage chat --session night" in (
        errors
    )

    resumed = subprocess.run(
        [sys.executable, "-m", "emostage", *chat],
        input="/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=env | {"EMOSTAGE_BACKEND": "scripted"},
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.count(MESSAGE) == 1  # stored once, shown as it was typed
    assert resumed.stdout.count("(scripted test reply)") == 1


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Sessions under `tmp_path`; `os._exit` raises SystemExit, so a test sees the exit."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))

    def leave(code: int) -> None:
        raise SystemExit(code)

    monkeypatch.setattr("emostage.cli.chat.os._exit", leave)


def last_checkpoint(session: str) -> str | None:
    with open_store() as saver:
        saved = saver.get_tuple({"configurable": {"thread_id": session}})
    return None if saved is None else str(saved.config["configurable"]["checkpoint_id"])


def answer(session: str, text: str) -> None:
    with open_store() as saver:
        stage = EmoStage(ScriptedChatModel(), checkpointer=saver)
        stage.respond([{"role": "client", "content": text}], thread_id=session)


@pytest.mark.usefixtures("exits")
def test_ctrl_c_before_anything_is_stored_echoes_the_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        chat_module.interrupted("fresh", MESSAGE, None, None)
    assert exited.value.code == 130
    shown = capsys.readouterr()
    assert f"not saved: {MESSAGE}" in shown.out  # as typed: `[bold]` is not markup
    assert "Interrupted before your message was saved" in shown.err


@pytest.mark.usefixtures("exits")
def test_ctrl_c_says_saved_once_the_turn_wrote_a_checkpoint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    answer("s", "Hello.")
    before = last_checkpoint("s")
    # Nothing written since `before`: the new message is not stored.
    with pytest.raises(SystemExit):
        chat_module.interrupted("s", MESSAGE, None, before)
    assert f"not saved: {MESSAGE}" in capsys.readouterr().out
    # The turn wrote (here it even finished, as when Ctrl-C comes just after the reply is
    # stored): saved, not echoed as lost.
    answer("s", MESSAGE)
    with pytest.raises(SystemExit) as exited:
        chat_module.interrupted("s", MESSAGE, None, before)
    assert exited.value.code == 130
    shown = capsys.readouterr()
    assert "not saved" not in shown.out
    assert "Your message is saved; for its reply, resume with: emostage chat --session s" in (
        shown.err
    )


def test_a_turn_paused_for_review_is_resumed_by_review(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EMOSTAGE_BACKEND", "scripted")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    chat = ["chat", "--session", "r", "--review"]
    paused = runner.invoke(app, chat, input=f"{CRISIS}\n")  # input ends at the review
    assert paused.exit_code == 0, paused.output
    assert "the reply awaits review: emostage chat --session r --review" in paused.output
    assert "counselor>" not in paused.output

    resumed = runner.invoke(app, chat, input="a\n/quit\n")
    assert resumed.exit_code == 0, resumed.output
    assert "review (risk: crisis, self)" in resumed.output
    assert resumed.output.count("counselor>") == 1 and "(crisis)" in resumed.output


def test_piped_respond_prints_exactly_the_reply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOSTAGE_BACKEND", "scripted")
    example = EXAMPLES / "en_breakup.json"
    result = runner.invoke(app, ["respond", str(example)])
    assert result.exit_code == 0, result.output
    reply = EmoStage(backend="scripted").respond(load_dialogue(str(example)))
    assert result.stdout == f"{reply.response}\n"
    assert result.stderr.startswith(f"phase: {reply.phase or '-'} · {reply.language} · ")
