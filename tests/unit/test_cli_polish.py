"""CLI polish: what a Ctrl-C says, and output that stays as it was.

- what a Ctrl-C says follows the session's checkpoints: a message is "saved" once the turn
  wrote any, and otherwise echoed back as `not saved: ...`, never read as markup;
- a turn paused for review is resumed by review, not finished as a cut-off turn;
- piped `respond` prints exactly the reply `EmoStage.respond` returns.

(Ctrl-C on a real process: tests/integration/test_cli_polish.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emostage import EmoStage
from emostage.cli import chat as chat_module
from emostage.conversation import load_dialogue
from emostage.sessions import open_store
from emostage.testing import ScriptedChatModel

from ..conftest import EXAMPLES, emostage

MESSAGE = "I haven't slept in [bold]three[/bold] days."
CRISIS = "I want to kill myself tonight."


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


@pytest.mark.usefixtures("scripted_cli")
def test_a_turn_paused_for_review_is_resumed_by_review() -> None:
    chat = ["chat", "--session", "r", "--review"]
    paused = emostage(*chat, input=f"{CRISIS}\n")  # input ends at the review
    assert paused.exit_code == 0, paused.output
    assert "the reply awaits review: emostage chat --session r --review" in paused.output
    assert "counselor>" not in paused.output

    resumed = emostage(*chat, input="a\n/quit\n")
    assert resumed.exit_code == 0, resumed.output
    assert "review (risk: crisis, self)" in resumed.output
    assert resumed.output.count("counselor>") == 1 and "(crisis)" in resumed.output


@pytest.mark.usefixtures("scripted_cli")
def test_piped_respond_prints_exactly_the_reply() -> None:
    example = EXAMPLES / "en_breakup.json"
    result = emostage("respond", example)
    assert result.exit_code == 0, result.output
    reply = EmoStage(backend="scripted").respond(load_dialogue(str(example)))
    assert result.stdout == f"{reply.response}\n"
    assert result.stderr.startswith(f"phase: {reply.phase or '-'} · {reply.language} · ")
