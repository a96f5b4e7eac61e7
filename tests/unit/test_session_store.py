"""The session store keeps a long session's dialogue a bounded number of times.

(Under misuse, with real processes: tests/integration/test_session_store.py.)
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from emostage import EmoStage
from emostage.sessions import SqliteSessionStore, open_store
from emostage.sessions.serializer import with_state_types
from emostage.testing import ScriptedChatModel


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
