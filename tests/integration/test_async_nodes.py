"""Async nodes: `arespond` and `astream` await the model on the event loop, with no thread.

Over real HTTP (a `FakeOllama` on 127.0.0.1) with the ollama backend, as users run it:
- every model request of an async turn is sent by the async transport, from the loop's
  own thread; a sync turn uses the sync transport (the control);
- cancelling `arespond` closes the connection of the request in flight, which the
  server sees;
- 50 concurrent turns keep all their requests in flight at once (a thread pool would cap
  them at its size); the timing itself is the benchmark's (bench/concurrency.py).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

from bench.concurrency import concurrent_turns
from emostage import EmoStage, shown_text
from emostage.models.backends.transport import AsyncBoundedTransport, BoundedTransport
from emostage.testing.ollama_server import FakeOllama

from ..conftest import wait_until

TURN = [{"role": "client", "content": "I keep crying at night since the move."}]


@pytest.fixture
def sent_from(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Which transport sent each model request, and from which thread."""
    sent: dict[str, list[str]] = {"sync": [], "async": []}
    sync_send = BoundedTransport.handle_request
    async_send = AsyncBoundedTransport.handle_async_request

    def sync_request(self: BoundedTransport, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/chat":
            sent["sync"].append(threading.current_thread().name)
        return sync_send(self, request)

    async def async_request(self: AsyncBoundedTransport, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/chat":
            sent["async"].append(threading.current_thread().name)
        return await async_send(self, request)

    monkeypatch.setattr(BoundedTransport, "handle_request", sync_request)
    monkeypatch.setattr(AsyncBoundedTransport, "handle_async_request", async_request)
    return sent


async def _astream_text(stage: EmoStage) -> str:
    return shown_text([piece async for piece in stage.astream(TURN)])


def test_async_turns_send_every_model_request_from_the_event_loop(
    sent_from: dict[str, list[str]],
) -> None:
    loop_thread = threading.main_thread().name
    with FakeOllama() as server:
        stage = EmoStage(ollama_host=server.url, language="en")
        reply = asyncio.run(stage.arespond(TURN))
        streamed = asyncio.run(_astream_text(stage))
        asked = len(server.requests)
    assert reply.response and streamed == reply.response
    assert sum(n.model_calls for n in reply.diagnostics.nodes) == 3
    assert asked == 6  # phase, perspective and draft, twice
    assert sent_from == {"sync": [], "async": [loop_thread] * 6}


def test_a_sync_turn_uses_the_sync_transport(sent_from: dict[str, list[str]]) -> None:
    with FakeOllama() as server:
        EmoStage(ollama_host=server.url, language="en").respond(TURN)
    assert len(sent_from["sync"]) == 3
    assert sent_from["async"] == []


def test_one_stage_serves_one_event_loop_after_another() -> None:
    # Connections belong to their loop: each `asyncio.run` gets a pool of its own.
    with FakeOllama() as server:
        stage = EmoStage(ollama_host=server.url, language="en")
        first = asyncio.run(stage.arespond(TURN))
        second = asyncio.run(stage.arespond(TURN))
    assert first.response == second.response
    assert not first.diagnostics.fallbacks and not second.diagnostics.fallbacks


def test_cancelling_arespond_hangs_up_the_request_in_flight() -> None:
    # `trickle` sends a line every 0.2 s and never finishes: only a hang-up ends it.
    with FakeOllama(fault="trickle", delay_s=0.2) as server:
        stage = EmoStage(
            ollama_host=server.url, language="en", request_timeout_s=60, turn_timeout_s=120
        )

        async def start_then_cancel() -> float:
            turn = asyncio.create_task(stage.arespond(TURN))
            while len(server.requests) < 2:  # phase and perspective, side by side
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            turn.cancel()
            cancelled_at = time.monotonic()
            with pytest.raises(asyncio.CancelledError):
                await turn
            return cancelled_at

        cancelled_at = asyncio.run(start_then_cancel())
        wait_until(lambda: len(server.hang_ups) >= 2, 5)
        hang_ups = list(server.hang_ups)
        asked = len(server.requests)
    assert asked == 2  # no retry, no draft after the cancel
    assert len(hang_ups) == 2, "the server never saw the connections close"
    # Seen at the server's next line, not at a deadline 60 s away.
    assert max(hang_ups) - cancelled_at < 2.0


def test_fifty_concurrent_turns_keep_all_their_requests_in_flight() -> None:
    found: dict[str, Any] = concurrent_turns(clients=50, latency_s=1.0)
    # Phase and perspective of every turn at the server at once: no pool of a few threads.
    assert found["peak requests in flight"] == 100
    assert found["concurrent turns"] == 50
