"""The CLI's `--store` and `EMOSTAGE_STORE`: chat and sessions on PostgreSQL (a real server).

The flag beats the variable; with neither, the SQLite file in the data directory is used.
A second chat on a PostgreSQL session is refused from another process, as with SQLite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from emostage.cli import app

pytestmark = pytest.mark.integration


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("EMOSTAGE_BACKEND", "scripted")
    return tmp_path


def thread_rows(url: str, thread_id: str) -> int:
    with psycopg.connect(url) as connection:
        found = connection.execute(
            "SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread_id,)
        ).fetchone()
    assert found is not None
    return int(found[0])


def test_chat_and_sessions_use_the_store_the_flag_or_the_variable_names(
    postgres_url: str, data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    said = runner.invoke(
        app, ["chat", "--store", postgres_url, "--session", "anna"], input="Hello.\n/quit\n"
    )
    assert said.exit_code == 0, said.output
    assert "(scripted test reply)" in said.stdout
    assert "anna" in runner.invoke(app, ["sessions", "list", "--store", postgres_url]).stdout
    assert "anna" not in runner.invoke(app, ["sessions", "list"]).stdout  # the SQLite default

    monkeypatch.setenv("EMOSTAGE_STORE", postgres_url)
    assert "anna" in runner.invoke(app, ["sessions", "list"]).stdout
    resumed = runner.invoke(app, ["chat", "--session", "anna"], input="/quit\n")
    assert "Hello." in resumed.stdout  # the history, read back from PostgreSQL
    # An explicit flag beats the variable.
    other = data_home / "other.sqlite"
    assert "anna" not in runner.invoke(app, ["sessions", "list", "--store", str(other)]).stdout

    deleted = runner.invoke(app, ["sessions", "delete", "anna", "--yes"])
    assert deleted.exit_code == 0, deleted.output
    assert thread_rows(postgres_url, "anna") == 0
    assert "anna" not in runner.invoke(app, ["sessions", "list"]).stdout


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ("mysql://127.0.0.1/x", "Unknown store 'mysql'"),
        ("postgresql://someone:secret@127.0.0.1:9/x", "Cannot use the session store at"),
    ],
)
def test_a_bad_store_is_one_error_line(data_home: Path, store: str, message: str) -> None:
    done = CliRunner().invoke(app, ["sessions", "list", "--store", store])
    assert done.exit_code == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "secret" not in done.stderr


@pytest.mark.timeout(120)
def test_a_second_chat_on_a_postgres_session_is_refused(postgres_url: str, tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("EMOSTAGE_")}
    environment |= {
        "XDG_DATA_HOME": str(tmp_path),
        "EMOSTAGE_BACKEND": "scripted",
        "EMOSTAGE_STORE": postgres_url,
    }
    command = [sys.executable, "-m", "emostage", "chat", "--session", "shared"]
    first = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        text=True,
    )
    try:
        assert first.stderr is not None
        deadline = time.monotonic() + 60
        banner = ""
        while "/quit to leave" not in banner and time.monotonic() < deadline:
            banner += first.stderr.readline()
        second = subprocess.run(
            command, input="Hi.\n/quit\n", capture_output=True, text=True, env=environment,
            timeout=60, check=False,
        )  # fmt: skip
        lines = [line for line in second.stderr.splitlines() if line.strip()]
        assert second.returncode == 2
        assert len(lines) == 1 and "in use by another emostage process" in lines[0]
    finally:
        first.communicate("/quit\n", timeout=60)
    assert first.returncode == 0
