"""Where sessions live: a store chosen by a URL, SQLite by default.

- nothing, or a file path: SQLite (`emostage.sessions.sqlite`), embedded, one machine; the
  default file is in the user's data directory;
- `postgresql://user@host/db`: PostgreSQL (`emostage.sessions.postgres`), for many users
  and many processes; needs the `postgres` extra.

Every store is a LangGraph checkpointer with per-session turn locks (`SessionStore`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emostage.errors import ConfigError
from emostage.sessions.base import SessionInfo, SessionStore, TurnLock, thread_config, thread_of
from emostage.sessions.sqlite import SqliteSessionStore, store_path
from emostage.sessions.sqlite import open_store as open_sqlite

__all__ = [
    "SessionInfo",
    "SessionStore",
    "SqliteSessionStore",
    "TurnLock",
    "open_store",
    "store_failures",
    "store_from_env",
    "store_path",
    "thread_config",
    "thread_of",
]
STORE_ENV = "EMOSTAGE_STORE"
_POSTGRES = ("postgresql://", "postgres://")


def store_from_env() -> str | None:
    """The store the environment names (`EMOSTAGE_STORE`), if any."""
    return os.environ.get(STORE_ENV) or None


@contextmanager
def open_store(url: str | Path | None = None) -> Iterator[SessionStore]:
    """Open the session store at `url`, and close it when the block ends.

    Args:
        url: `postgresql://...`, a SQLite file path (or `sqlite:///path`), or None for the
            default SQLite file.

    Raises:
        ConfigError: an unknown kind of URL, or PostgreSQL without its extra installed.
        StoreError: the store cannot be used, with the reason.
    """
    where = str(url or "")
    if where.startswith(_POSTGRES):
        store = _open_postgres(where)
        try:
            yield store
        finally:
            store.close()
        return
    if "://" in where and not where.startswith("sqlite:///"):
        raise ConfigError(
            f"Unknown store {where.split('://')[0]!r}://; use a postgresql:// URL or a "
            "SQLite file path."
        )
    path = Path(where.removeprefix("sqlite://")) if where else None
    with open_sqlite(path) as store:
        yield store


def store_failures() -> tuple[type[BaseException], ...]:
    """The errors a store's database may raise while in use, whichever store it is."""
    try:
        from emostage.sessions.postgres import PostgresSessionStore
    except ImportError:
        return SqliteSessionStore.failures
    return SqliteSessionStore.failures + PostgresSessionStore.failures


def _open_postgres(url: str) -> SessionStore:
    try:
        from emostage.sessions.postgres import PostgresSessionStore
    except ImportError:
        raise ConfigError(
            "A PostgreSQL store needs the postgres extra: pip install 'emostage[postgres]'."
        ) from None
    return PostgresSessionStore(url)
