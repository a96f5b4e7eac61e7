"""The session store under misuse: two processes, damaged files, a full disk, deletes."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from emostage import EmoStage
from emostage.sessions import SqliteSessionStore, open_store
from emostage.sessions.serializer import with_state_types
from emostage.testing import ScriptedChatModel

pytestmark = pytest.mark.integration
STORE = Path("emostage") / "sessions.sqlite"


def env_for(data_home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("EMOSTAGE_", "OLLAMA_"))}
    return keep | {"XDG_DATA_HOME": str(data_home), "EMOSTAGE_BACKEND": "scripted"}


def emostage(*args: str, data_home: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emostage", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env_for(data_home),
        check=False,
        **kwargs,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line (after chat's banner line, if any)."""
    lines = [line for line in result.stderr.strip().splitlines() if "/quit to leave" not in line]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.mark.timeout(120)
def test_a_second_process_on_a_session_is_refused_and_nothing_is_lost(tmp_path: Path) -> None:
    first = subprocess.Popen(
        [sys.executable, "-m", "emostage", "chat", "--session", "shared"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env_for(tmp_path),
        text=True,
    )
    assert first.stdin is not None and first.stdout is not None
    first.stdin.write("The first process speaks.\n")
    first.stdin.flush()
    assert "(scripted test reply)" in first.stdout.readline() + first.stdout.readline()

    second = emostage("chat", "--session", "shared", input="Me too.\n", data_home=tmp_path)
    assert "is in use by another emostage process" in one_error_line(second)
    delete = emostage("sessions", "delete", "shared", "--yes", data_home=tmp_path)
    assert "is in use" in one_error_line(delete)
    other = emostage("chat", "--session", "another", input="Hello.\n/quit\n", data_home=tmp_path)
    assert other.returncode == 0, other.stderr  # other sessions are free meanwhile

    first.communicate("/quit\n", timeout=60)
    shown = emostage("chat", "--session", "shared", input="/quit\n", data_home=tmp_path)
    assert shown.stdout.count("(scripted test reply)") == 1  # every reply shown was stored
    assert "The first process speaks." in shown.stdout and "Me too." not in shown.stdout


def _truncated(path: Path) -> None:
    _fill(path)
    path.write_bytes(path.read_bytes()[:3000])


def _fill(path: Path) -> None:
    with open_store(path) as store:
        stage = EmoStage(ScriptedChatModel(), checkpointer=store)
        stage.respond([{"role": "client", "content": "A turn to keep."}], thread_id="kept")


def _foreign(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER, total REAL)")


DAMAGE = {
    "truncated": (_truncated, "cannot be used"),
    "overwritten": (lambda p: p.write_bytes(b"\x00garbage" * 500), "not an SQLite database"),
    "foreign": (_foreign, "an SQLite database of something else"),
    "directory": (lambda p: p.mkdir(), "is a directory"),
}


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("command", [["sessions", "list"], ["chat", "--session", "x"]])
def test_a_damaged_store_gets_one_line_and_is_never_overwritten(
    damage: str, command: list[str], tmp_path: Path
) -> None:
    store = tmp_path / STORE
    store.parent.mkdir(parents=True)
    make, words = DAMAGE[damage]
    make(store)
    before = store.read_bytes() if store.is_file() else None
    line = one_error_line(emostage(*command, input="Hi.\n/quit\n", data_home=tmp_path))
    assert words in line and str(store) in line
    assert (store.read_bytes() if store.is_file() else None) == before


def test_a_data_home_that_is_a_file_gets_one_line(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("x")
    line = one_error_line(emostage("sessions", "list", data_home=not_a_directory))
    assert "a file is in the way" in line and "XDG_DATA_HOME" in line


@pytest.mark.timeout(120)
def test_a_full_disk_keeps_the_clients_words_and_shows_no_unsaved_reply(tmp_path: Path) -> None:
    emostage("chat", "--session", "s", input="Before the disk filled.\n/quit\n", data_home=tmp_path)
    store = tmp_path / STORE
    limit = store.stat().st_size

    def full_disk() -> None:  # writes past the current size fail, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    message = "This message must not vanish. " * 200
    result = subprocess.run(
        [sys.executable, "-m", "emostage", "chat", "--session", "s"],
        input=f"{message}\n/quit\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=env_for(tmp_path),
        preexec_fn=full_disk,
        check=False,
    )
    assert "Could not save session 's'" in one_error_line(result)
    assert f"not saved: {message}" in result.stdout  # echoed back, for the client to copy
    assert result.stdout.count("(scripted test reply)") == 1  # only the stored earlier turn


def test_delete_erases_the_text_while_another_process_has_the_store_open(tmp_path: Path) -> None:
    emostage("chat", "--session", "gone", input="Erase this sentence.\n/quit\n", data_home=tmp_path)
    store = tmp_path / STORE
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sqlite3,sys; c=sqlite3.connect({str(store)!r}); "
            "c.execute('select count(*) from checkpoints').fetchall(); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.5)
        deleted = emostage("sessions", "delete", "gone", "--yes", data_home=tmp_path)
        assert deleted.returncode == 0, deleted.stderr
        for path in store.parent.glob("sessions.sqlite*"):
            assert b"Erase this sentence." not in path.read_bytes(), path
    finally:
        holder.communicate("", timeout=30)


def test_the_store_and_its_directory_are_owner_only(tmp_path: Path) -> None:
    (tmp_path / "emostage").mkdir(mode=0o755)
    emostage("chat", "--session", "p", input="Private.\n/quit\n", data_home=tmp_path)
    assert (tmp_path / "emostage").stat().st_mode & 0o777 == 0o700
    for path in (tmp_path / "emostage").rglob("*"):
        assert path.stat().st_mode & 0o077 == 0, path


def _store_after(turns: int, saver: SqliteSaver, path: Path) -> tuple[int, int]:
    stage = EmoStage(ScriptedChatModel(), checkpointer=with_state_types(saver))
    marker = "A sentence said once, at the start."
    stage.respond([{"role": "client", "content": marker}], thread_id="long")
    for turn in range(turns - 1):
        stage.respond([{"role": "client", "content": f"Turn {turn}."}], thread_id="long")
    saver.conn.commit()
    files = [p for p in path.parent.glob(path.name + "*") if p.is_file()]
    data = b"".join(p.read_bytes() for p in files)
    return sum(p.stat().st_size for p in files), data.count(marker.encode())


@pytest.mark.timeout(300)
def test_a_100_turn_session_stores_its_dialogue_a_bounded_number_of_times(tmp_path: Path) -> None:
    plain = tmp_path / "plain" / "sessions.sqlite"
    plain.parent.mkdir()
    plain_size, plain_copies = _store_after(
        100, SqliteSaver(sqlite3.connect(plain, check_same_thread=False)), plain
    )
    with open_store(tmp_path / "kept" / "sessions.sqlite") as store:
        assert isinstance(store, SqliteSaver)  # the default kind: SQLite
        kept_size, kept_copies = _store_after(100, store, tmp_path / "kept" / "sessions.sqlite")
    print(
        f"100 turns: {plain_size:,} B, {plain_copies} copies (all checkpoints kept); "
        f"{kept_size:,} B, {kept_copies} copies (latest kept)"
    )
    # The newest checkpoint and its parent, each with the conversation's two views
    # (`dialogue` and `messages`): a bound that does not grow with the session.
    assert plain_copies > 100 and kept_copies <= 4
    assert kept_size * 10 < plain_size
    assert isinstance(store, SqliteSessionStore)
