"""Sessions on a real PostgreSQL server (started by the test setup on 127.0.0.1).

Every API path keeps a thread in the store; turns of one session are serialized across
processes (an advisory lock per session); a process killed mid-turn loses nothing and
blocks nothing; 20 sessions run at once without crossing; a delete erases. The CLI's
`--store` and `EMOSTAGE_STORE` are in test_cli_store.py.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from emostage import EmoStage, shown_text
from emostage.errors import ConfigError, StoreError
from emostage.sessions import open_store
from emostage.testing import ScriptedChatModel
from emostage.testing.ollama_server import FakeOllama

from ..conftest import ROOT, cli_env


def client(text: str) -> list[dict[str, str]]:
    return [{"role": "client", "content": text}]


def rows(url: str, table: str, thread_id: str | None = None) -> int:
    with psycopg.connect(url) as connection:
        if thread_id is None:
            found = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
        else:
            found = connection.execute(
                f"SELECT count(*) FROM {table} WHERE thread_id = %s", (thread_id,)
            ).fetchone()
    assert found is not None
    return int(found[0])


def dialogue(stage: EmoStage, thread_id: str) -> list[tuple[str, str]]:
    values = stage.graph.get_state({"configurable": {"thread_id": thread_id}}).values
    return [(turn.role, turn.content) for turn in values.get("dialogue", [])]


async def _astream(stage: EmoStage, text: str, thread_id: str) -> str:
    return shown_text([c async for c in stage.astream(client(text), thread_id=thread_id)])


PATHS: dict[str, Callable[[EmoStage, str, str], str]] = {
    "respond": lambda s, text, t: s.respond(client(text), thread_id=t).response,
    "arespond": lambda s, text, t: asyncio.run(s.arespond(client(text), thread_id=t)).response,
    "stream": lambda s, text, t: shown_text(s.stream(client(text), thread_id=t)),
    "astream": lambda s, text, t: asyncio.run(_astream(s, text, t)),
}


@pytest.mark.parametrize("path", list(PATHS))
def test_every_path_keeps_the_thread_in_postgres_and_prunes_old_copies(
    postgres_url: str, path: str
) -> None:
    turn = PATHS[path]
    with EmoStage(ScriptedChatModel(), store=postgres_url) as stage:
        first = turn(stage, "I can't sleep since the move.", "s1")
        second = turn(stage, "It is worse at weekends.", "s1")
        stored = dialogue(stage, "s1")
    assert [role for role, _ in stored] == ["client", "counselor"] * 2
    assert stored[1][1] == first and stored[3][1] == second
    # Reopened by another object, as another process would: the same session.
    with EmoStage(ScriptedChatModel(), store=postgres_url) as again:
        assert dialogue(again, "s1") == stored
    # Each checkpoint holds the whole dialogue: only the latest is kept.
    assert rows(postgres_url, "checkpoints", "s1") == 1


def test_sessions_are_listed_and_a_delete_erases_every_row(postgres_url: str) -> None:
    with EmoStage(ScriptedChatModel(), store=postgres_url) as stage:
        stage.respond(client("Something private."), thread_id="private")
        stage.respond(client("Something else."), thread_id="other")
    with open_store(postgres_url) as store:
        assert [(s.name, s.turns) for s in store.sessions()] == [("other", 2), ("private", 2)]
        store.erase("private")
        assert [s.name for s in store.sessions()] == ["other"]
        with pytest.raises(Exception, match="No session named 'private'"):
            store.erase("private")
    for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
        assert rows(postgres_url, table, "private") == 0
    with psycopg.connect(postgres_url) as connection:
        blobs = connection.execute("SELECT blob FROM checkpoint_blobs").fetchall()
    assert not any(b"Something private" in bytes(blob) for (blob,) in blobs if blob)
    assert rows(postgres_url, "checkpoints", "other") == 1


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
def test_a_turn_waits_for_the_session_and_gives_up_at_its_deadline(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    where = request.getfixturevalue("postgres_url") if kind == "postgresql" else tmp_path / "s"
    hello = client("Hello?")
    with (
        open_store(where) as holder,
        EmoStage(ScriptedChatModel(), store=where, turn_timeout_s=1.0) as stage,
    ):
        lock = holder.turn_lock("busy")
        lock.acquire(5)
        try:
            started = time.monotonic()
            with pytest.raises(StoreError, match="busy with another turn"):
                stage.respond(hello, thread_id="busy")
            with pytest.raises(StoreError, match="busy with another turn"):
                asyncio.run(stage.arespond(hello, thread_id="busy"))
            waited = time.monotonic() - started
        finally:
            lock.release()
        assert 1.8 <= waited < 5.0  # two turns, each waiting its 1 s
        first = asyncio.run(stage.arespond(hello, thread_id="busy"))  # free again
        second = stage.respond(client("Still here."), thread_id="busy")
        stored = dialogue(stage, "busy")
    assert stored == [
        ("client", "Hello?"),
        ("counselor", first.response),
        ("client", "Still here."),
        ("counselor", second.response),
    ]


def test_an_unreachable_or_unknown_store_is_one_clear_error(postgres_url: str) -> None:
    with pytest.raises(StoreError, match=r"^Cannot use the session store at postgresql://") as e:
        EmoStage(ScriptedChatModel(), store="postgresql://nobody:secret@127.0.0.1:9/x")
    assert "secret" not in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="Unknown store 'mysql'"):
        EmoStage(ScriptedChatModel(), store="mysql://127.0.0.1/x")
    with pytest.raises(ConfigError, match="not both"):
        EmoStage(ScriptedChatModel(), store=postgres_url, checkpointer=object())  # type: ignore[arg-type]


# --- many processes -----------------------------------------------------------------------

TURN_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from emostage import EmoStage
    go = Path(sys.argv[2])
    while not go.exists():
        time.sleep(0.02)
    with EmoStage(store=os.environ["STORE"], backend="ollama", language="en",
                  ollama_host=os.environ["OLLAMA"], turn_timeout_s=60) as stage:
        stage.respond([{"role": "client", "content": sys.argv[1]}], thread_id="shared")
    """
)


def _start_turn(text: str, go: Path, store: str, server: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", TURN_SCRIPT, text, str(go)],
        env=cli_env(STORE=store, OLLAMA=server),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.timeout(180)
def test_two_processes_on_one_session_take_turns(postgres_url: str, tmp_path: Path) -> None:
    first_text, second_text = "First process speaking.", "Second process speaking."
    with FakeOllama(fault="delay", delay_s=1.5) as server:
        first = _start_turn(first_text, tmp_path / "go-1", postgres_url, server.url)
        second = _start_turn(second_text, tmp_path / "go-2", postgres_url, server.url)
        (tmp_path / "go-1").touch()
        server.wait_for_requests(timeout_s=60)  # the first turn runs
        (tmp_path / "go-2").touch()  # the second starts while the first is mid-turn
        for process in (first, second):
            _, errors = process.communicate(timeout=120)
            assert process.returncode == 0, errors[-2000:]
        sent = [str(body["messages"]) for body in server.requests]
    with EmoStage(ScriptedChatModel(), store=postgres_url) as stage:
        stored = dialogue(stage, "shared")
    assert [role for role, _ in stored] == ["client", "counselor"] * 2
    assert {stored[0][1], stored[2][1]} == {first_text, second_text}
    first_reply = stored[1][1]
    # The later turn began after the earlier one ended: every one of its model calls saw
    # the earlier turn's reply.
    later = [s for s in sent if stored[2][1] in s]
    assert len(later) == 3 and all(first_reply[:40] in s for s in later)


@pytest.mark.timeout(180)
def test_a_turn_killed_mid_call_loses_nothing_and_blocks_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    text = "Words that must survive a crash."
    with FakeOllama(fault="stall") as server:
        process = _start_turn(text, tmp_path / "go", postgres_url, server.url)
        (tmp_path / "go").touch()
        assert server.wait_for_requests(timeout_s=60), "the turn never reached the model"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    with EmoStage(ScriptedChatModel(), store=postgres_url, turn_timeout_s=10) as stage:
        assert dialogue(stage, "shared") == [("client", text)]  # stored before the model call
        started = time.monotonic()
        reply = stage.respond(client("I'm back."), thread_id="shared")
        assert time.monotonic() - started < 5  # the dead process's lock went with it
        stored = dialogue(stage, "shared")
    assert reply.response and stored[-1] == ("counselor", reply.response)
    assert text in stored[0][1] and "I'm back." in " ".join(c for _, c in stored)


def test_twenty_sessions_at_once_never_cross(postgres_url: str) -> None:
    def words(session: int, turn: int) -> str:
        return f"Session {session}, message {turn}."

    def answer(messages: Any) -> str:  # names every session the prompt mentions
        prompt = " ".join(str(message.content) for message in messages)
        return "Heard: " + " ".join(sorted(set(re.findall(r"Session \d+,", prompt))))

    model = ScriptedChatModel(defaults={"text": answer})
    with EmoStage(model, store=postgres_url) as stage:

        async def session(number: int) -> None:
            for turn in (1, 2):
                await stage.arespond(client(words(number, turn)), thread_id=f"s{number}")

        async def all_sessions() -> None:
            await asyncio.gather(*(session(n) for n in range(20)))

        asyncio.run(all_sessions())
        for number in range(20):
            stored = dialogue(stage, f"s{number}")
            assert [c for r, c in stored if r == "client"] == [words(number, 1), words(number, 2)]
            replies = [c for r, c in stored if r == "counselor"]
            assert replies == [f"Heard: Session {number},"] * 2
    assert rows(postgres_url, "checkpoints") == 20
