"""The CLI's `--store` and `EMOSTAGE_STORE`: chat and sessions on PostgreSQL (a real server).

The flag beats the variable; with neither, the SQLite file in the data directory is used.
A second chat on a PostgreSQL session is refused from another process, as with SQLite.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from ..conftest import emostage, one_error_line, start_emostage


def thread_rows(url: str, thread_id: str) -> int:
    with psycopg.connect(url) as connection:
        found = connection.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread_id,)
        ).fetchone()
    assert found is not None
    return int(found[0])


def test_chat_and_sessions_use_the_store_the_flag_or_the_variable_names(
    postgres_url: str, scripted_cli: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    said = emostage("chat", "--store", postgres_url, "--session", "anna", input="Hello.\n/quit\n")
    assert said.exit_code == 0, said.output
    assert "(scripted test reply)" in said.stdout
    assert "anna" in emostage("sessions", "list", "--store", postgres_url).stdout
    assert "anna" not in emostage("sessions", "list").stdout  # the SQLite default

    monkeypatch.setenv("EMOSTAGE_STORE", postgres_url)
    assert "anna" in emostage("sessions", "list").stdout
    resumed = emostage("chat", "--session", "anna", input="/quit\n")
    assert "Hello." in resumed.stdout  # the history, read back from PostgreSQL
    # An explicit flag beats the variable.
    other = scripted_cli / "other.sqlite"
    assert "anna" not in emostage("sessions", "list", "--store", other).stdout

    deleted = emostage("sessions", "delete", "anna", "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert thread_rows(postgres_url, "anna") == 0
    assert "anna" not in emostage("sessions", "list").stdout


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ("mysql://127.0.0.1/x", "Unknown store 'mysql'"),
        ("postgresql://someone:secret@127.0.0.1:9/x", "Cannot use the session store at"),
    ],
)
@pytest.mark.usefixtures("scripted_cli")
def test_a_bad_store_is_one_error_line(store: str, message: str) -> None:
    done = emostage("sessions", "list", "--store", store)
    assert message in one_error_line(done)
    assert "secret" not in done.stderr


@pytest.mark.timeout(120)
def test_a_second_chat_on_a_postgres_session_is_refused(postgres_url: str, tmp_path: Path) -> None:
    env = {"EMOSTAGE_BACKEND": "scripted", "EMOSTAGE_STORE": postgres_url}
    chat = ["chat", "--session", "shared"]
    first = start_emostage(
        *chat, env=env, data_home=tmp_path,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert first.stderr is not None
        deadline = time.monotonic() + 60
        banner = ""
        while "/quit to leave" not in banner and time.monotonic() < deadline:
            banner += first.stderr.readline()
        second = emostage(
            *chat, input="Hi.\n/quit\n", env=env, data_home=tmp_path, process=True, timeout=60
        )
        lines = [line for line in second.stderr.splitlines() if line.strip()]
        assert second.exit_code == 2
        assert len(lines) == 1 and "in use by another emostage process" in lines[0]
    finally:
        first.communicate("/quit\n", timeout=60)
    assert first.returncode == 0
