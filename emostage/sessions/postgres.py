"""The multi-user session store: PostgreSQL, through langgraph-checkpoint-postgres.

Selected by a URL (`--store postgresql://...`, `EMOSTAGE_STORE`, `EmoStage(store=...)`).
Many processes on many machines share it:
- a connection pool serves the checkpoints; a second pool holds the advisory locks, so
  that turns waiting for a lock can never starve the turns that hold one;
- a turn holds a PostgreSQL advisory lock on its session from start to end, so turns of
  one session run one after another wherever they run; a process that dies releases it
  with its connection;
- after each turn, the session's older checkpoints are pruned (each holds the whole
  dialogue again), under the same lock;
- erasing a session deletes its rows and vacuums the tables.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.checkpoint.postgres import PostgresSaver
from psycopg import Connection, errors, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from emostage.errors import InputError, StoreError
from emostage.sessions.base import SessionStore, TurnLock, busy, lock_key
from emostage.sessions.serializer import state_serializer

# What PostgresSaver needs of its connections.
_SAVER_CONNECTION: dict[str, Any] = {
    "autocommit": True,
    "prepare_threshold": 0,
    "row_factory": dict_row,
}
SAVER_POOL_SIZE = 16  # checkpoint reads and writes are short: a few connections serve many
LOCK_POOL_SIZE = 64  # one per turn in flight in this process, held for the whole turn
CONNECT_TIMEOUT_S = 10.0
_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


class PostgresSessionStore(SessionStore, PostgresSaver):
    """LangGraph's PostgresSaver on a pool, with per-session advisory locks."""

    failures = (errors.Error, PoolTimeout)

    def __init__(self, url: str) -> None:
        """Connect to the database at `url` and create the tables if needed.

        Raises:
            StoreError: the server cannot be reached or refuses, with the reason.
        """
        self.location = redacted(url)
        pool: ConnectionPool[Connection[DictRow]] = ConnectionPool(
            url,
            min_size=1,
            max_size=SAVER_POOL_SIZE,
            kwargs=_SAVER_CONNECTION,
            open=False,
            timeout=CONNECT_TIMEOUT_S,
        )
        self._locks: ConnectionPool[Connection[Any]] = ConnectionPool(
            url, min_size=0, max_size=LOCK_POOL_SIZE, kwargs={"autocommit": True}, open=False
        )
        PostgresSaver.__init__(self, pool, serde=state_serializer())
        try:
            # One plain connection first: a refused or failed login ends at once, where
            # the pool would retry until its timeout.
            Connection.connect(url, connect_timeout=int(CONNECT_TIMEOUT_S)).close()
            pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            self._locks.open()
            self._setup_once()
        except (PoolTimeout, errors.Error) as exc:
            self.close()
            raise StoreError(
                f"Cannot use the session store at {self.location}: {_reason(exc)}."
            ) from None

    def _setup_once(self) -> None:
        """Create or migrate the tables, one process at a time."""
        with self._locks.connection() as connection:
            key = _lock_number("setup", "emostage")
            connection.execute("SELECT pg_advisory_lock(%s)", (key,))
            try:
                self.setup()
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def turn_lock(self, thread_id: str) -> TurnLock:
        """An advisory lock on the session, on a connection of the lock pool."""
        return _AdvisoryTurnLock(self._locks, thread_id)

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        """Hold session `name` with an advisory lock of its own, or refuse at once."""
        if not name.strip():
            raise InputError("A session name must not be empty.")
        key = _lock_number("session", name)
        with self._locks.connection() as connection:
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if not row or not row[0]:
                raise StoreError(
                    f"Session {name!r} is in use by another emostage process; end that one "
                    "first, or choose another --session."
                )
            try:
                yield
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def after_turn(self, thread_id: str) -> None:
        """Keep only the session's latest checkpoint: the others are older copies."""
        # The turn has succeeded and is stored; a failed prune only leaves old copies
        # until the next turn's prune, so it must not fail the turn.
        with contextlib.suppress(errors.Error):
            self.prune([thread_id], strategy="keep_latest")

    def erase(self, name: str) -> None:
        """Delete the session's rows, then vacuum the tables so their space is reused."""
        self.require(name)
        self.prune([name], strategy="delete")
        with self._locks.connection() as connection:  # autocommit: VACUUM needs it
            connection.execute(
                sql.SQL("VACUUM {}").format(sql.SQL(", ").join(map(sql.Identifier, _TABLES)))
            )

    def close(self) -> None:
        """Close both pools."""
        self._locks.close()
        if isinstance(self.conn, ConnectionPool):
            self.conn.close()


class _AdvisoryTurnLock(TurnLock):
    def __init__(self, pool: ConnectionPool[Connection[Any]], thread_id: str) -> None:
        self._pool = pool
        self._thread_id = thread_id
        self._key = _lock_number("turn", thread_id)
        self._connection: Connection[Any] | None = None

    def acquire(self, wait_s: float) -> None:
        try:
            connection = self._pool.getconn(timeout=wait_s)
        except PoolTimeout:
            raise busy(self._thread_id, wait_s) from None
        try:
            # lock_timeout bounds the wait for an advisory lock too.
            timeout_ms = str(max(1, int(wait_s * 1000)))
            connection.execute("SELECT set_config('lock_timeout', %s, false)", (timeout_ms,))
            connection.execute("SELECT pg_advisory_lock(%s)", (self._key,))
        except errors.LockNotAvailable:
            self._pool.putconn(connection)
            raise busy(self._thread_id, wait_s) from None
        except BaseException:
            self._pool.putconn(connection)
            raise
        self._connection = connection

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
        except errors.Error:
            connection.close()  # a broken connection's locks went with it
        finally:
            self._pool.putconn(connection)


def _lock_number(purpose: str, name: str) -> int:
    """A signed 64-bit advisory lock key for `name` (distinct keys per purpose)."""
    return int.from_bytes(bytes.fromhex(lock_key(purpose, name)[:16]), "big", signed=True)


def redacted(url: str) -> str:
    """`url` without its password, for messages."""
    try:
        parts = conninfo_to_dict(url)
    except errors.ProgrammingError:
        return "the configured PostgreSQL server"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', 'localhost')}{port}/{parts.get('dbname', '')}"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
