"""The embedded session store: a SQLite file in the user's data directory (the default).

Sessions hold client words, so:
- the directory is owner-only (0700) and the file too (0600);
- a store that is damaged, foreign or unreadable is refused with one line, never rewritten;
- the turns of a session are serialized by a file lock per session (`turn_lock`), and a
  chat holds its session with another (`hold`): a second process is refused;
- only each session's latest checkpoints are kept (`SessionStore`): every checkpoint
  holds the whole dialogue, so keeping all of them made the store grow with the square
  of a session's length, and kept deleted words in old copies;
- deleting a session overwrites its pages, vacuums the file and empties the WAL.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import filelock
import platformdirs
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite import SqliteSaver

from emostage.errors import InputError, StoreError
from emostage.sessions.base import SessionStore, TurnLock, busy, lock_key
from emostage.sessions.serializer import state_serializer

_SQLITE_HEADER = b"SQLite format 3\x00"
_TABLES = {"checkpoints", "writes"}
_BUSY_WAIT_S = 5.0


class SqliteSessionStore(SessionStore, SqliteSaver):
    """LangGraph's SqliteSaver, keeping only each thread's two latest checkpoints.

    The newest is the session; its parent may still receive a late write of the step
    that produced it. Older ones are copies of the same dialogue, shorter: they go, their
    pages are overwritten (`secure_delete`), and the WAL is emptied after each write.
    """

    failures = (sqlite3.Error,)

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        """The store in the open database `connection`, the file at `path`."""
        SqliteSaver.__init__(self, connection, serde=state_serializer())
        self.location = str(path)
        self._path = path
        self._locks = path.parent / "locks"

    def put(self, config: RunnableConfig, *args: Any, **kwargs: Any) -> RunnableConfig:
        """Store a checkpoint, then drop the thread's older ones and their writes."""
        saved = super().put(config, *args, **kwargs)
        keep = (saved["configurable"]["checkpoint_id"], config["configurable"].get("checkpoint_id"))
        where = "thread_id = ? AND checkpoint_ns = ? AND checkpoint_id NOT IN (?, ?)"
        key = (saved["configurable"]["thread_id"], saved["configurable"]["checkpoint_ns"])
        with self.cursor() as cursor:
            cursor.execute(f"DELETE FROM writes WHERE {where}", (*key, *keep))
            cursor.execute(f"DELETE FROM checkpoints WHERE {where}", (*key, *keep))
        with self.lock:  # and empty the WAL, whose frames hold earlier copies (if no reader)
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return saved

    def turn_lock(self, thread_id: str) -> TurnLock:
        """A file lock per session, in the store's `locks` directory."""
        _private_directory(self._locks)
        return _FileTurnLock(self._locks / f"turn-{lock_key('turn', thread_id)}.lock", thread_id)

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        """Hold session `name` for this process while the block runs."""
        with session_lock(name, self._path):
            yield

    def erase(self, name: str) -> None:
        """Delete the session's rows, then vacuum the file and empty the WAL."""
        delete_session(self, name)


class _FileTurnLock(TurnLock):
    def __init__(self, path: Path, thread_id: str) -> None:
        self._lock = filelock.FileLock(path, mode=0o600, thread_local=False)
        self._thread_id = thread_id

    def acquire(self, wait_s: float) -> None:
        try:
            self._lock.acquire(timeout=wait_s)
        except filelock.Timeout:
            raise busy(self._thread_id, wait_s) from None

    def release(self) -> None:
        self._lock.release()


def store_path() -> Path:
    """The SQLite file of all sessions (on Linux ~/.local/share/emostage/sessions.sqlite)."""
    return Path(platformdirs.user_data_dir("emostage")) / "sessions.sqlite"


@contextmanager
def open_store(path: Path | None = None) -> Iterator[SqliteSessionStore]:
    """The session checkpointer, created owner-only on first use.

    Raises:
        StoreError: the store or its directory cannot be used, with the fix.
    """
    path = path or store_path()
    _private_directory(path.parent)
    _check_file(path)
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
        connection = sqlite3.connect(path, check_same_thread=False, timeout=_BUSY_WAIT_S)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"Cannot open the session store {path}: {_reason(exc)}.") from None
    try:
        _check_schema(connection, path)
        connection.execute("PRAGMA secure_delete = ON")  # deleted text is overwritten
        store = SqliteSessionStore(connection, path)
        store.setup()
    except sqlite3.Error as exc:
        connection.close()
        raise StoreError(_damaged(path, exc)) from None
    try:
        yield store
    finally:
        connection.close()


@contextmanager
def session_lock(name: str, path: Path | None = None) -> Iterator[None]:
    """Hold session `name` for this process, across processes.

    Raises:
        InputError: the name is empty.
        StoreError: another process holds the session.
    """
    if not name.strip():
        raise InputError("A session name must not be empty.")
    locks = (path or store_path()).parent / "locks"
    _private_directory(locks)
    lock = filelock.FileLock(locks / f"{lock_key('session', name)}.lock", mode=0o600)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise StoreError(
            f"Session {name!r} is in use by another emostage process; end that one first, "
            "or choose another --session."
        ) from None
    try:
        yield
    finally:
        lock.release()


def delete_session(saver: SqliteSessionStore, name: str) -> None:
    """Erase a session: its rows, the freed pages (vacuum) and the WAL.

    Raises:
        InputError: there is no such session.
        StoreError: another process reads the store, so the WAL could not be emptied.
    """
    saver.require(name)
    saver.delete_thread(name)
    saver.conn.execute("VACUUM")
    ends = time.monotonic() + _BUSY_WAIT_S
    while saver.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:  # busy
        if time.monotonic() > ends:
            raise StoreError(
                f"Session {name!r} is deleted, but another emostage process is reading the "
                "store, so old copies of its text may remain in the -wal file until that "
                "process ends. Run `emostage sessions delete` again then."
            )
        time.sleep(0.1)


def _private_directory(directory: Path) -> None:
    """Create `directory` owner-only, or make an existing one of ours so."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if directory.stat().st_uid == os.getuid():
            directory.chmod(0o700)
    except (FileExistsError, NotADirectoryError):
        raise StoreError(
            f"Cannot create {directory}: a file is in the way. Check XDG_DATA_HOME."
        ) from None
    except OSError as exc:
        raise StoreError(f"Cannot create {directory}: {_reason(exc)}.") from None


def _check_file(path: Path) -> None:
    """Refuse a path that is not an SQLite file (or nothing yet), before SQLite touches it."""
    if path.is_dir():
        raise StoreError(f"The session store {path} is a directory; move it away.")
    try:
        with path.open("rb") as file:
            header = file.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"Cannot read the session store {path}: {_reason(exc)}.") from None
    if header and header != _SQLITE_HEADER:
        raise StoreError(_damaged(path, "not an SQLite database"))


def _check_schema(connection: sqlite3.Connection, path: Path) -> None:
    """Refuse an SQLite file that holds something other than sessions."""
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    tables = {row[0] for row in rows}
    if tables and not tables >= _TABLES:
        raise StoreError(
            f"{path} is an SQLite database of something else (tables: "
            f"{', '.join(sorted(tables)[:5])}); it was left untouched. Move it away."
        )


def _damaged(path: Path, problem: object) -> str:
    return (
        f"The session store {path} cannot be used ({_reason(problem)}); it was left "
        f"untouched. Move it away (e.g. to {path.name}.broken) to start a new one."
    )


def _reason(problem: object) -> str:
    if isinstance(problem, OSError) and problem.strerror:
        return problem.strerror
    return str(problem).splitlines()[0] if str(problem) else type(problem).__name__
