"""The session store under misuse: two processes, damaged files, a full disk, deletes."""

from __future__ import annotations

import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from emostage import EmoStage
from emostage.sessions import open_store
from emostage.testing import ScriptedChatModel

from ..conftest import SCRIPTED, Ran, one_error_line, start_emostage
from ..conftest import emostage as run_emostage

STORE = Path("emostage") / "sessions.sqlite"


def emostage(*args: str, data_home: Path, **kwargs: Any) -> Ran:
    """`emostage ARGS` as a process on the scripted backend, its sessions in `data_home`."""
    return run_emostage(*args, env=SCRIPTED, data_home=data_home, process=True, **kwargs)


@pytest.mark.timeout(120)
def test_a_second_process_on_a_session_is_refused_and_nothing_is_lost(tmp_path: Path) -> None:
    first = start_emostage(
        "chat", "--session", "shared", env=SCRIPTED, data_home=tmp_path,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert first.stdin is not None and first.stdout is not None
    first.stdin.write("The first process speaks.\n")
    first.stdin.flush()
    assert "(scripted test reply)" in first.stdout.readline() + first.stdout.readline()

    second = emostage("chat", "--session", "shared", input="Me too.\n", data_home=tmp_path)
    assert "is in use by another emostage process" in one_error_line(second)
    delete = emostage("sessions", "delete", "shared", "--yes", data_home=tmp_path)
    assert "is in use" in one_error_line(delete)
    other = emostage("chat", "--session", "another", input="Hello.\n/quit\n", data_home=tmp_path)
    assert other.exit_code == 0, other.stderr  # other sessions are free meanwhile

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
    result = emostage("chat", "--session", "s", input=f"{message}\n/quit\n", data_home=tmp_path,
                      preexec_fn=full_disk)  # fmt: skip
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
        assert deleted.exit_code == 0, deleted.stderr
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
