"""Sessions in the CLI, in this process: listed, erased on request, chat's flags.

(A chat killed mid-turn, a real process: tests/integration/test_persistence.py.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ..conftest import emostage


def test_sessions_can_be_listed_and_erased(scripted_cli: Path) -> None:
    emostage("chat", "--session", "anna", input="A private sentence.\n/quit\n")
    assert re.match(r"anna\s+2 turns", emostage("sessions", "list").stdout)
    store = scripted_cli / "emostage" / "sessions.sqlite"
    assert store.stat().st_mode & 0o777 == 0o600
    assert b"A private sentence." in store.read_bytes()

    deleted = emostage("sessions", "delete", "anna", "--yes")
    assert deleted.exit_code == 0
    assert b"A private sentence." not in store.read_bytes()  # vacuumed, not just unlinked
    assert "no sessions stored" in emostage("sessions", "list").stderr
    again = emostage("sessions", "delete", "anna", "--yes")
    assert again.exit_code == 2 and "No session named 'anna'" in again.stderr


@pytest.mark.usefixtures("scripted_cli")
@pytest.mark.parametrize(
    ("answer", "kept"), [("n\n", True), ("\n", True), ("", True), ("y\n", False)]
)
def test_sessions_delete_asks_first(answer: str, kept: bool) -> None:
    emostage("chat", "--session", "[b]ob", input="Something private.\n/quit\n")
    asked = emostage("sessions", "delete", "[b]ob", input=answer)
    assert "Erase session '[b]ob'" in asked.stdout  # the name shown as written, not markup
    assert "[y/N]" in asked.stdout  # the default is shown, not eaten as a markup tag
    assert asked.exit_code == (1 if kept else 0)
    listed = emostage("sessions", "list").stdout
    assert ("[b]ob" in listed) is kept
    if kept:
        assert "was not deleted" in asked.stderr


@pytest.mark.usefixtures("scripted_cli")
def test_chat_takes_the_mode_and_the_ablation_flags() -> None:
    for flags in (["--mode", "baseline"], ["--no-phase"], ["--no-perspective"]):
        done = emostage("chat", *flags, input="I can't sleep.\n/quit\n")
        assert done.exit_code == 0, done.output
        assert "(scripted test reply)" in done.stdout
    # With no phase recognized, the reply's label is "-", as in baseline mode.
    assert "(-)" in emostage("chat", "--no-phase", input="Hi.\n/quit\n").stdout
    bad = emostage("chat", "--mode", "loud", input="Hi.\n/quit\n")
    assert bad.exit_code == 2
