"""Nothing lost: a chat killed mid-turn resumes with every earlier word; sessions can be erased."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emostage.cli import app
from emostage.testing.ollama_server import FakeOllama


def chat_env(data_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMOSTAGE_", "OLLAMA_"))}
    return {**env, "XDG_DATA_HOME": str(data_home), **extra}


def test_a_chat_killed_mid_turn_resumes_with_every_message(tmp_path: Path) -> None:
    # The model answers slowly, so the process is surely inside a model call when killed.
    with FakeOllama(fault="delay", delay_s=30) as server:
        chat = subprocess.Popen(
            [sys.executable, "-m", "emostage", "chat", "--session", "night"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=chat_env(tmp_path, OLLAMA_HOST=server.url),
            text=True,
        )
        assert chat.stdin is not None
        chat.stdin.write("I haven't slept in three days.\n")
        chat.stdin.flush()
        deadline = time.monotonic() + 30
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.requests, "the chat never reached the model"
        os.kill(chat.pid, signal.SIGKILL)
        chat.wait(timeout=10)

    resumed = subprocess.run(
        [sys.executable, "-m", "emostage", "chat", "--session", "night"],
        input="And I keep thinking about work.\n/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=chat_env(tmp_path, EMOSTAGE_BACKEND="scripted"),
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "I haven't slept in three days." in resumed.stdout  # shown again on resume
    # The cut-off turn is finished first, before the client is asked for more: then the
    # next message gets a turn of its own.
    assert resumed.stdout.count("(scripted test reply)") == 2

    listing = CliRunner().invoke(app, ["sessions", "list"], env={"XDG_DATA_HOME": str(tmp_path)})
    assert re.match(r"night\s+4 turns", listing.stdout)  # message, reply, message, reply


def test_sessions_can_be_listed_and_erased(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("EMOSTAGE_BACKEND", "scripted")
    runner = CliRunner()
    runner.invoke(app, ["chat", "--session", "anna"], input="A private sentence.\n/quit\n")
    assert re.match(r"anna\s+2 turns", runner.invoke(app, ["sessions", "list"]).stdout)
    store = tmp_path / "emostage" / "sessions.sqlite"
    assert store.stat().st_mode & 0o777 == 0o600
    assert b"A private sentence." in store.read_bytes()

    deleted = runner.invoke(app, ["sessions", "delete", "anna", "--yes"])
    assert deleted.exit_code == 0
    assert b"A private sentence." not in store.read_bytes()  # vacuumed, not just unlinked
    assert "no sessions stored" in runner.invoke(app, ["sessions", "list"]).stderr
    again = runner.invoke(app, ["sessions", "delete", "anna", "--yes"])
    assert again.exit_code == 2 and "No session named 'anna'" in again.stderr


@pytest.mark.parametrize(
    ("answer", "kept"), [("n\n", True), ("\n", True), ("", True), ("y\n", False)]
)
def test_sessions_delete_asks_first(
    answer: str, kept: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("EMOSTAGE_BACKEND", "scripted")
    runner = CliRunner()
    runner.invoke(app, ["chat", "--session", "[b]ob"], input="Something private.\n/quit\n")
    asked = runner.invoke(app, ["sessions", "delete", "[b]ob"], input=answer)
    assert "Erase session '[b]ob'" in asked.stdout  # the name shown as written, not markup
    assert "[y/N]" in asked.stdout  # the default is shown, not eaten as a markup tag
    assert asked.exit_code == (1 if kept else 0)
    listed = runner.invoke(app, ["sessions", "list"]).stdout
    assert ("[b]ob" in listed) is kept
    if kept:
        assert "was not deleted" in asked.stderr


def test_chat_takes_the_mode_and_the_ablation_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("EMOSTAGE_BACKEND", "scripted")
    runner = CliRunner()
    for flags in (["--mode", "baseline"], ["--no-phase"], ["--no-perspective"]):
        done = runner.invoke(app, ["chat", *flags], input="I can't sleep.\n/quit\n")
        assert done.exit_code == 0, done.output
        assert "(scripted test reply)" in done.stdout
    # With no phase recognized, the reply's label is "-", as in baseline mode.
    assert "(-)" in runner.invoke(app, ["chat", "--no-phase"], input="Hi.\n/quit\n").stdout
    bad = runner.invoke(app, ["chat", "--mode", "loud"], input="Hi.\n/quit\n")
    assert bad.exit_code == 2
