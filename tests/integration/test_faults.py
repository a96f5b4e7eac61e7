"""What a user sees when the model server misbehaves.

Transient faults are retried with backoff and, if they last, end in one clear error within
a bounded time; permanent faults fail at once; a garbled body falls back and is recorded.
(What the CLI shows for each fault: tests/integration/test_fault_matrix.py.)
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from emostage import EmoStage, ModelUnavailableError, Reply
from emostage.errors import TransientModelError
from emostage.testing.ollama_server import FakeOllama
from emostage.testing.ollama_wire import Fault

DIALOGUE = [{"role": "client", "content": "I keep crying at night."}]
TIMEOUT_S = 0.5
ATTEMPTS = 2
TRANSIENT: dict[Fault, str] = {
    "refuse": "Cannot reach the model server",
    "delay": "within request_timeout_s",
    "http_500": r"failed \(500\): model runner has unexpectedly stopped",
    "cut_stream": "connection to the model server broke",
}
# Each attempt is bounded by the timeout, and the backoff between two by about 1 s.
BOUND_S = ATTEMPTS * TIMEOUT_S + (ATTEMPTS - 1) * 1.0 + 1.0
sync_and_async = pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])


def respond(server: FakeOllama, *, use_async: bool, **settings: Any) -> Reply:
    stage = EmoStage(
        ollama_host=server.url, request_timeout_s=TIMEOUT_S, model_attempts=ATTEMPTS, **settings
    )
    if use_async:
        return asyncio.run(stage.arespond(DIALOGUE))
    return stage.respond(DIALOGUE)


@sync_and_async
@pytest.mark.parametrize("fault", list(TRANSIENT))
def test_lasting_transient_faults_are_retried_then_reported(fault: Fault, use_async: bool) -> None:
    with FakeOllama(fault=fault, delay_s=4 * TIMEOUT_S) as server:
        started = time.monotonic()
        with pytest.raises(TransientModelError, match=TRANSIENT[fault]) as error:
            respond(server, use_async=use_async, mode="baseline")
        elapsed = time.monotonic() - started
        calls = len(server.requests)
    assert elapsed < BOUND_S
    assert "\n" not in str(error.value)
    assert calls == (0 if fault == "refuse" else ATTEMPTS)


@sync_and_async
@pytest.mark.parametrize("fault", ["http_500", "cut_stream", "delay"])
def test_a_passing_fault_is_retried_and_the_turn_succeeds(fault: Fault, use_async: bool) -> None:
    with FakeOllama(fault=fault, fault_times=2, delay_s=4 * TIMEOUT_S) as server:
        reply = respond(server, use_async=use_async)
    assert reply.response.startswith("(scripted test reply)")
    assert reply.diagnostics.fallbacks == []


@sync_and_async
def test_a_missing_model_fails_fast_without_retries(use_async: bool) -> None:
    with FakeOllama(fault="model_not_found") as server:
        with pytest.raises(ModelUnavailableError, match="not found") as error:
            respond(server, use_async=use_async, mode="baseline")
        assert len(server.requests) == 1
    assert not isinstance(error.value, TransientModelError)


@sync_and_async
def test_a_non_json_body_falls_back_and_is_recorded(use_async: bool) -> None:
    with FakeOllama(fault="not_json") as server:
        reply = respond(server, use_async=use_async)
    assert reply.phase == "exploration"
    assert reply.perspective is not None and reply.perspective.is_empty()
    assert reply.response.startswith("I'm here and listening")
    nodes = [f.split(":")[0] for f in reply.diagnostics.fallbacks]
    assert nodes == ["recognize_phase", "take_perspective", "draft_exploration"]


def test_preflight_names_a_model_the_server_lacks() -> None:
    with FakeOllama(models=("llama3.2:1b",)) as server:
        stage = EmoStage(ollama_host=server.url)
        with pytest.raises(ModelUnavailableError, match=r"ollama pull qwen2\.5:7b"):
            stage.preflight()
