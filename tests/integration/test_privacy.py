"""Nothing leaked: the only network peer is the configured model; logs hold no client text."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from emostage import EmoStage
from emostage.testing.ollama_server import FakeOllama

LOOPBACK = ("127.0.0.1", "::1", "localhost")
SECRET = "My name is Hana Sato and I live at 3-2-1 Sakura-cho."


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every address any thread looks up or connects to; all but loopback are refused."""
    attempts: list[Any] = []
    real_connect, real_lookup = socket.socket.connect, socket.getaddrinfo

    def connect(sock: socket.socket, address: Any) -> None:
        attempts.append(address)
        if not (isinstance(address, tuple) and address[0] in LOOPBACK):
            raise OSError(f"blocked by test: {address!r}")
        real_connect(sock, address)

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOOPBACK:
            attempts.append((host, "lookup"))
            raise OSError(f"blocked by test: {host!r}")
        return real_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    yield attempts


def test_a_turn_talks_only_to_the_configured_model(
    connections: list[Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Even a host environment that turns LangSmith tracing on must not carry the text off.
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2-test")
    caplog.set_level(logging.DEBUG)
    with FakeOllama() as server:
        stage = EmoStage(ollama_host=server.url)
        stage.preflight()
        reply = stage.respond([{"role": "client", "content": SECRET}])
        time.sleep(0.5)  # give any background uploader its chance to try
        port = int(server.url.rsplit(":", 1)[1])
    assert reply.response
    assert connections, "the guard saw no traffic at all"
    assert {address[1] for address in connections} == {port}
    assert not any(SECRET in record.getMessage() for record in caplog.records)
