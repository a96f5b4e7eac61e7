"""LangSmith tracing, turned on in the environment, sees no client text on any entry point.

A stand-in LangSmith server on 127.0.0.1 records what would have been uploaded. Every test
ends with a control: with `allow_tracing`, the same server does receive a marked text, so
the test would have seen a leak.
"""

from __future__ import annotations

import asyncio
import importlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from langchain_core.tracers.langchain import wait_for_all_tracers
from langsmith import run_trees, utils
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from emostage import EmoStage, build_graph
from emostage.testing import ScriptedChatModel

from ..conftest import EVAL_DATA, SCRIPTED, emostage

SECRET = "My name is Hana Sato and I live at 3-2-1 Sakura-cho."
TURN: Any = {"dialogue": [{"role": "client", "content": SECRET}]}


@pytest.fixture
def langsmith(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Tracing switched on, pointed at a local server; yields the bodies it received."""
    received: list[bytes] = []

    def record(request: Request) -> Response:
        received.append(request.get_data())
        return Response("{}", status=200, content_type="application/json")

    _forget_langsmith_settings()
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request(re.compile(".*")).respond_with_handler(record)
    server.start()
    for name, value in {
        "LANGSMITH_TRACING": "true",
        "LANGSMITH_API_KEY": "lsv2-test",
        "LANGSMITH_ENDPOINT": server.url_for("").rstrip("/"),
    }.items():
        monkeypatch.setenv(name, value)
    yield received
    wait_for_all_tracers()
    _forget_langsmith_settings()
    server.stop()


def _forget_langsmith_settings() -> None:
    """LangSmith caches its environment and its client per process: start afresh.

    Without this, the client made by an earlier test keeps the address of that test's
    server, and nothing reaches this one: a leak would go unseen.
    """
    for cached in (utils.get_env_var, utils.get_tracer_project):
        cast(Any, cached).cache_clear()  # lru_cache wrappers, typed as overloads
    run_trees._CLIENT = None


def _assert_tracing_reaches(received: list[bytes], marker: str) -> None:
    """The control: a run that allows tracing does upload its text to the stand-in."""
    EmoStage(ScriptedChatModel(), allow_tracing=True).respond(
        [{"role": "client", "content": marker}]
    )
    wait_for_all_tracers()
    assert any(marker.encode() in body for body in received), "tracing was not live"


def _stream_graph() -> None:
    list(build_graph(ScriptedChatModel()).stream(TURN, stream_mode="custom"))


def _ainvoke_graph() -> None:
    asyncio.run(build_graph(ScriptedChatModel()).ainvoke(TURN))


def _astream_events() -> None:
    async def events() -> None:
        async for _ in build_graph(ScriptedChatModel()).astream_events(TURN, version="v2"):
            pass

    asyncio.run(events())


def _studio_graph() -> None:
    studio = importlib.reload(importlib.import_module("emostage.studio"))
    studio.graph.invoke(TURN, context={"backend": "scripted"})


def _eval(tmp_path: Path) -> None:
    data = tmp_path / "secret.jsonl"
    line = '{"id": "s1", "language": "en", "context": [{"role": "client", "content": "%s"}], '
    data.write_text(line % SECRET + '"reference": "I hear you."}\n', "utf-8")
    result = emostage(
        "eval", "all", "--out", tmp_path / "run", "--data", data, "--lang", "en", env=SCRIPTED
    )
    assert result.exit_code == 0, result.output


ENTRY_POINTS: dict[str, Callable[[Path], object]] = {
    "EmoStage.respond": lambda _: EmoStage(ScriptedChatModel()).respond(TURN["dialogue"]),
    "build_graph().invoke": lambda _: build_graph(ScriptedChatModel()).invoke(TURN),
    "build_graph().stream": lambda _: _stream_graph(),
    "build_graph().ainvoke": lambda _: _ainvoke_graph(),
    "build_graph().astream_events": lambda _: _astream_events(),
    "the Studio graph": lambda _: _studio_graph(),
    "emostage eval all": _eval,
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_no_entry_point_uploads_client_text(
    entry: str, langsmith: list[bytes], tmp_path: Path
) -> None:
    assert EVAL_DATA.is_dir()
    ENTRY_POINTS[entry](tmp_path)
    wait_for_all_tracers()
    assert not any(SECRET.encode() in body for body in langsmith), entry
    _assert_tracing_reaches(langsmith, f"Control run after {entry}: I feel tired.")


def test_the_control_alone_allowed_tracing_does_reach_the_stand_in_server(
    langsmith: list[bytes],
) -> None:
    _assert_tracing_reaches(langsmith, SECRET)
