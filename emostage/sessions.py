"""Where chat sessions live: a SQLite checkpointer in the user's data directory.

Sessions hold client words, so the file is owner-only (0600), and deleting a session
also vacuums the file so the freed pages do not keep the text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import platformdirs
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from emostage.errors import InputError
from emostage.state import CHECKPOINT_TYPES

SaverT = TypeVar("SaverT", bound=BaseCheckpointSaver[str])


def register_state_types(checkpointer: SaverT) -> SaverT:
    """Register EmoStage's state classes with the checkpointer's serializer.

    LangGraph's default serializer loads any class from a checkpoint, warning about each
    one not on an allowlist; listing ours keeps sessions loadable with no warnings.
    """
    serde = getattr(checkpointer, "serde", None)
    if isinstance(serde, JsonPlusSerializer):
        if getattr(serde, "_allowed_msgpack_modules", None) is True:  # permissive default
            serde = JsonPlusSerializer(allowed_msgpack_modules=())
        checkpointer.serde = serde.with_msgpack_allowlist(CHECKPOINT_TYPES)
    return checkpointer


def store_path() -> Path:
    """The SQLite file of all sessions (on Linux ~/.local/share/emostage/sessions.sqlite)."""
    return Path(platformdirs.user_data_dir("emostage")) / "sessions.sqlite"


@contextmanager
def open_store() -> Iterator[SqliteSaver]:
    """The session checkpointer, created owner-only on first use."""
    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    connection = sqlite3.connect(path, check_same_thread=False)
    try:
        yield register_state_types(SqliteSaver(connection))
    finally:
        connection.close()


@dataclass(frozen=True)
class SessionInfo:
    """A stored session, as `emostage sessions list` shows it."""

    name: str
    turns: int
    updated: str


def list_sessions(saver: SqliteSaver) -> list[SessionInfo]:
    """Every stored session, by name."""
    latest: dict[str, SessionInfo] = {}
    for saved in saver.list(None):  # newest checkpoint of each thread comes first
        name = saved.config["configurable"]["thread_id"]
        if name not in latest:
            turns = len(saved.checkpoint["channel_values"].get("dialogue", []))
            latest[name] = SessionInfo(name, turns, saved.checkpoint["ts"][:19])
    return sorted(latest.values(), key=lambda info: info.name)


def delete_session(saver: SqliteSaver, name: str) -> None:
    """Erase a session and vacuum the file.

    Raises:
        InputError: there is no such session.
    """
    if saver.get_tuple({"configurable": {"thread_id": name}}) is None:
        raise InputError(f"No session named {name!r}; see `emostage sessions list`.")
    saver.delete_thread(name)
    saver.conn.execute("VACUUM")
