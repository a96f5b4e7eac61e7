from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from emostage.conversation import Turn

from .postgres_server import binaries, postgres_server

# Never let a developer's environment choose a setting for a test: every EMOSTAGE_ variable,
# the Ollama address, and LangSmith's switches.
for name in list(os.environ):
    if name.startswith(("EMOSTAGE_", "LANGSMITH_", "LANGCHAIN_")) or name == "OLLAMA_HOST":
        os.environ.pop(name)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
KOKOROCHAT = ROOT.parent / "shared" / "data" / "kokorochat"


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


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A real PostgreSQL server for this test session: `TEST_POSTGRES_URL`, or one started here.

    Skipped where PostgreSQL is not installed, unless `TEST_REQUIRE_SERVICES=1` (which
    `make test` sets, after installing it): then that is a failure.
    """
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
