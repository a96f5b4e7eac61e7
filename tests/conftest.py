"""What every test shares: paths, the `emostage` runner, loopback ports, waiting, PostgreSQL.

Tests under tests/unit/ start no process and open no socket (tests/unit/conftest.py fails
one that does); every test under tests/integration/ is marked `integration` here.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from emostage.cli import app
from emostage.conversation import Turn

# Never let a developer's environment choose a setting for a test: every EMOSTAGE_ variable,
# the Ollama address, and LangSmith's switches.
for name in list(os.environ):
    if name.startswith(("EMOSTAGE_", "LANGSMITH_", "LANGCHAIN_")) or name == "OLLAMA_HOST":
        os.environ.pop(name)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DATA = ROOT / "tests" / "data"
EVAL_DATA = DATA / "eval"
KOKOROCHAT = ROOT.parent / "shared" / "data" / "kokorochat"
INTEGRATION = ROOT / "tests" / "integration"
DEPLOY = ROOT / "deploy"
SCRIPTED = {"EMOSTAGE_BACKEND": "scripted"}
# The tables of an evaluation report, once per language.
REPORT_TABLES = (
    "### Summary",
    "Reference-based metrics",
    "LLM-judge scores",
    "Pairwise preference against the baseline",
    "Phase sanity",
    "Cost per reply (generator model)",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/integration/ `integration`: the directory decides."""
    for item in items:
        if item.path.is_relative_to(INTEGRATION):
            item.add_marker(pytest.mark.integration)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def english_dialogue() -> list[Turn]:
    return [
        Turn(role="counselor", content="Hello, what would you like to talk about today?"),
        Turn(role="client", content="I haven't been sleeping since my job changed."),
    ]


@pytest.fixture
def kokorochat_dir() -> Path:
    if not KOKOROCHAT.is_dir():
        pytest.skip("../shared/data/kokorochat is not present on this machine")
    return KOKOROCHAT


@pytest.fixture
def scripted_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The CLI on the scripted backend, its sessions under `tmp_path`; returns that folder."""
    monkeypatch.setenv("EMOSTAGE_BACKEND", "scripted")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A real PostgreSQL server for this test session: `TEST_POSTGRES_URL`, or one started here.

    Skipped where PostgreSQL is not installed, unless `TEST_REQUIRE_SERVICES=1` (which
    `make test` sets, after installing it): then that is a failure.
    """
    from .postgres_server import binaries, postgres_server  # it uses free_port, below

    if url := os.environ.get("TEST_POSTGRES_URL"):
        yield url
        return
    if binaries() is None:
        if os.environ.get("TEST_REQUIRE_SERVICES") == "1":
            pytest.fail("PostgreSQL is required (TEST_REQUIRE_SERVICES=1) but not installed")
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    with postgres_server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """The URL of a new, empty database on the test server, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield postgres_server_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


# --- the emostage command ------------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    """What one `emostage` run did."""

    exit_code: int
    stdout: str
    stderr: str
    output: str
    """Both streams: interleaved in this process, stdout then stderr from a real one."""
    exception: BaseException | None = None
    """What ended an in-process run, if anything did (`SystemExit` included)."""


def cli_env(data_home: Path | None = None, /, **extra: str) -> dict[str, str]:
    """A process's environment: this one without EMOSTAGE_ or OLLAMA_ settings, then `extra`.

    Args:
        data_home: Where sessions are kept (`XDG_DATA_HOME`); default: inherited.
        extra: Variables to set, last.
    """
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("EMOSTAGE_", "OLLAMA_"))}
    home = {} if data_home is None else {"XDG_DATA_HOME": str(data_home)}
    return kept | home | extra


def emostage(
    *args: str | Path,
    env: Mapping[str, str] | None = None,
    input: str | bytes | None = None,
    data_home: Path | None = None,
    process: bool = False,
    timeout: float = 120,
    **run: Any,
) -> Ran:
    """Run `emostage ARGS` in this process (typer's `CliRunner`), or as a real process.

    A run never prints a traceback, unless asked to with `--debug`.

    Args:
        args: The command line after `emostage`.
        env: Variables to set. In this process they go on top of the test's environment,
            so a monkeypatched setting holds; a real process gets `cli_env(...)` first.
        input: What arrives on stdin.
        data_home: Where sessions are kept (`XDG_DATA_HOME`).
        process: Run `python -m emostage` in a process of its own: real exit codes,
            signals and file descriptors.
        timeout: Seconds a real process may take.
        run: More arguments for `subprocess.run` (a real process only).
    """
    words = [str(arg) for arg in args]
    settings = dict(env or {}) | ({} if data_home is None else {"XDG_DATA_HOME": str(data_home)})
    if process:
        done = subprocess.run(
            [sys.executable, "-m", "emostage", *words],
            input=input,
            env=cli_env(**settings),
            capture_output=True,
            text=not isinstance(input, bytes),
            timeout=timeout,
            check=False,
            **run,
        )
        stdout, stderr = _text(done.stdout), _text(done.stderr)
        ran = Ran(done.returncode, stdout, stderr, stdout + stderr)
    else:
        assert not run, f"{sorted(run)}: only for a real process"
        result = CliRunner().invoke(app, words, env=settings, input=input)
        ran = Ran(result.exit_code, result.stdout, result.stderr, result.output, result.exception)
    if "--debug" not in words:
        assert "Traceback" not in ran.output, ran.output
    return ran


def start_emostage(
    *args: str | Path,
    env: Mapping[str, str] | None = None,
    data_home: Path | None = None,
    **popen: Any,
) -> subprocess.Popen[str]:
    """Start `python -m emostage ARGS`, in text mode, with the environment `emostage` gives.

    Args:
        args: The command line after `emostage`.
        env: Variables to set, after `cli_env(data_home)`.
        data_home: Where sessions are kept (`XDG_DATA_HOME`).
        popen: More arguments for `subprocess.Popen` (its pipes, mostly).
    """
    command = [sys.executable, "-m", "emostage", *map(str, args)]
    return subprocess.Popen(command, env=cli_env(data_home, **(env or {})), text=True, **popen)


def one_error_line(ran: Ran) -> str:
    """The one `error: ...` line on stderr of a run that exited 2 (a chat's banner aside)."""
    lines = [line for line in ran.stderr.strip().splitlines() if "/quit to leave" not in line]
    assert ran.exit_code == 2, ran.output
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines file."""
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def _text(stream: str | bytes) -> str:
    return stream.decode("utf-8", "replace") if isinstance(stream, bytes) else stream


# --- ports, waiting, servers ---------------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listened on a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def closed_url(path: str = "") -> str:
    """The URL of a loopback port nobody listens on: every connection is refused."""
    return f"http://127.0.0.1:{free_port()}{path}"


def wait_until(
    condition: Callable[[], object], timeout_s: float = 60, every_s: float = 0.05
) -> bool:
    """Poll `condition` until it holds (True) or `timeout_s` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(every_s)
    return True


@contextmanager
def server_process(
    command: list[str],
    ready_url: str,
    *,
    timeout_s: float = 60,
    log: Path | None = None,
    **popen: Any,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process, wait until `ready_url` answers 200, and stop it at the end.

    Args:
        command: The server's command line.
        ready_url: A URL that answers 200 once the server is up (fetched with no proxy).
        timeout_s: How long it may take to come up; the test fails after that.
        log: The server's log, quoted when it does not come up: where its output goes,
            unless `popen` names a `stdout` (then a file the server writes itself).
        popen: More arguments for `subprocess.Popen`.
    """

    def answers() -> bool:
        try:
            return httpx.get(ready_url, timeout=1, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    if "stdout" in popen:  # the caller's streams; `log` is a file the server writes itself
        process = subprocess.Popen(command, **popen)
    else:
        with log.open("wb") if log else open(os.devnull, "wb") as output:
            process = subprocess.Popen(command, stdout=output, stderr=output, **popen)
    try:
        if not wait_until(lambda: process.poll() is not None or answers(), timeout_s, 0.2):
            pytest.fail(f"{command[0]} did not answer {ready_url} within {timeout_s} s{_tail(log)}")
        if process.poll() is not None:
            pytest.fail(f"{command[0]} exited with {process.returncode}{_tail(log)}")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _tail(log: Path | None) -> str:
    return f":\n{log.read_text(errors='replace')[-2000:]}" if log and log.exists() else ""
