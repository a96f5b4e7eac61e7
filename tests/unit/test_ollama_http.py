"""The default Ollama path at the HTTP level: real `ChatOllama` and `ollama.Client`, fake server.

Every request goes to an `httpx.MockTransport`: to `FakeOllama.handle`, the test server
answering in this process, or to a handler of a failure. Nothing opens a socket.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import ollama
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_ollama import chat_models
from langgraph.checkpoint.memory import InMemorySaver

from emostage import Context, EmoStage, EmoStageError, ModelUnavailableError, Perspective, Reply
from emostage.analysis import NEED_CODES, answer_token_cap, phase_schema, wire_keys
from emostage.models.backends.transport import AsyncBoundedTransport, BoundedTransport
from emostage.models.deadline import SESSION_HEADER
from emostage.models.source import build_chat_model
from emostage.prompts.phases import load_taxonomy
from emostage.testing import ScriptedChatModel
from emostage.testing.ollama_server import FakeOllama

Handler = Callable[[httpx.Request], httpx.Response]

pytestmark = pytest.mark.usefixtures("no_settings_from_env")

HOST = "http://ollama.test:11434"
MODEL = "llama3.2:1b"
TEMPERATURE = 0.3
TIMEOUT_S = 42.0
IVEY_IDS = ["rapport", "exploration", "goal_setting", "intervention", "closing"]

DIALOGUE = [
    {"role": "client", "content": "Hi. I haven't been sleeping well for weeks."},
    {"role": "counselor", "content": "Thank you for telling me. What happens at night?"},
    {"role": "client", "content": "I lie awake worrying about my job. I feel so tired."},
]
PHASE = {"rationale": "The client is describing the problem in detail.", "phase": "exploration"}
PERSPECTIVE = {
    "emotions": [{"name": "worry", "intensity": 4}, {"name": "fatigue", "intensity": 3}],
    "situation": "Cannot sleep because of job worries.",
    "thoughts": "My job might be at risk.",
    "support_needs": ["being_heard", "clarifying_problem"],
    "unspoken_needs": "Reassurance that this can get better.",
}
REPLY = "That sounds exhausting. What worries about your job come up most at night?"


def ndjson(*parts: dict[str, Any]) -> httpx.Response:
    body = "".join(json.dumps(part) + "\n" for part in parts)
    return httpx.Response(200, text=body, headers={"content-type": "application/x-ndjson"})


def kind_of(body: dict[str, Any]) -> str:
    """Which call of a turn a /api/chat body is: phase, perspective or draft."""
    schema = body.get("format")
    properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
    if "phase" in properties:
        return "phase"
    if "feel" in properties:
        return "perspective"
    return "draft"


def fake_ollama(phase: str = json.dumps(PHASE)) -> FakeOllama:
    """The test server with `MODEL`, answering each call of a turn as written above."""
    answers = {"PhaseAssessment": phase, "Perspective": PERSPECTIVE, "text": REPLY}
    return FakeOllama(ScriptedChatModel(defaults=answers), models=(MODEL,))


def bodies_of(fake: FakeOllama, kind: str) -> list[dict[str, Any]]:
    return [body for body in fake.requests if kind_of(body) == kind]


def ollama_model(monkeypatch: pytest.MonkeyPatch, handler: Handler) -> BaseChatModel:
    """`build_chat_model` as is, its sync and async Ollama clients talking to `handler`."""

    def sync_client(**kwargs: Any) -> ollama.Client:
        # EmoStage's own transport stays in place, in front of the mock server.
        return ollama.Client(
            **kwargs | {"transport": BoundedTransport(httpx.MockTransport(handler))}
        )

    monkeypatch.setattr(chat_models, "Client", sync_client)

    def async_client(**kwargs: Any) -> ollama.AsyncClient:
        return ollama.AsyncClient(
            **kwargs | {"transport": AsyncBoundedTransport(httpx.MockTransport(handler))}
        )

    monkeypatch.setattr(chat_models, "AsyncClient", async_client)
    context = Context(
        model=MODEL, ollama_host=HOST, temperature=TEMPERATURE, request_timeout_s=TIMEOUT_S
    )
    return build_chat_model(context)


def run_turn(
    monkeypatch: pytest.MonkeyPatch, handler: Handler, dialogue: list[Any] = DIALOGUE
) -> Reply:
    # One attempt per call: these tests map errors; test_faults covers the retries.
    stage = EmoStage(chat_model=ollama_model(monkeypatch, handler), model_attempts=1)
    return stage.respond(dialogue)


def assert_full_turn(fake: FakeOllama, reply: Reply) -> None:
    assert reply.response == REPLY
    assert reply.phase == "exploration"
    assert reply.phase_rationale == PHASE["rationale"]
    assert reply.perspective == Perspective.model_validate(PERSPECTIVE)
    assert reply.diagnostics.fallbacks == []
    assert sorted(kind_of(body) for body in fake.requests) == ["draft", "perspective", "phase"]


# --- a whole turn ----------------------------------------------------------------------------


def test_turn_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_ollama()
    reply = run_turn(monkeypatch, fake.handle)
    assert_full_turn(fake, reply)
    assert reply.language == "en"
    assert {headers["Host"] for headers in fake.request_headers} == {"ollama.test:11434"}


def test_each_call_is_capped_by_its_schema_or_the_reply_length(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The analysis is capped by its schema's longest answer, not the reply's max_tokens
    # (which would cut a long perspective off and spend a retry); the reply by max_tokens.
    fake = fake_ollama()
    run_turn(monkeypatch, fake.handle)
    caps = {kind_of(body): body["options"]["num_predict"] for body in fake.requests}
    assert caps == {
        "perspective": answer_token_cap(Perspective),
        "phase": answer_token_cap(phase_schema(tuple(load_taxonomy("ivey").ids))),
        "draft": Context().max_tokens,
    }
    assert caps["perspective"] > caps["draft"]


def test_requests_carry_the_configured_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_ollama()
    run_turn(monkeypatch, fake.handle)
    for body in fake.requests:
        assert body["model"] == MODEL
        assert body["stream"] is True
        assert body["think"] is False
        assert body["options"]["temperature"] == TEMPERATURE
    assert "format" not in bodies_of(fake, "draft")[0]


def test_clients_use_the_configured_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    model = ollama_model(monkeypatch, fake_ollama().handle)
    for client in (model._client, model._async_client):  # type: ignore[attr-defined]
        assert client._client.timeout == httpx.Timeout(TIMEOUT_S)
        assert client._client.base_url == httpx.URL(HOST)


def test_analysis_requests_send_json_schemas(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_ollama()
    run_turn(monkeypatch, fake.handle)
    (phase,) = bodies_of(fake, "phase")
    (perspective,) = bodies_of(fake, "perspective")
    assert phase["format"]["type"] == "object"
    assert phase["format"]["properties"]["phase"]["enum"] == IVEY_IDS
    assert perspective["format"]["type"] == "object"
    # Every field of the perspective, by its short key (emostage.analysis).
    assert set(perspective["format"]["properties"]) == set(wire_keys(Perspective).values())
    assert set(wire_keys(Perspective)) == set(Perspective.model_fields) and len(
        set(wire_keys(Perspective).values())
    ) == len(Perspective.model_fields)
    assert perspective["format"]["properties"]["need"]["items"]["enum"] == list(NEED_CODES)


def test_calls_share_the_persona_and_transcript(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_ollama()
    run_turn(monkeypatch, fake.handle)
    messages = [body["messages"] for body in fake.requests]
    assert [len(m) for m in messages] == [3, 3, 3]
    assert [m[0]["role"] for m in messages] == ["system"] * 3
    assert all(m[:2] == messages[0][:2] for m in messages)
    assert len({m[2]["content"] for m in messages}) == 3
    assert "I lie awake worrying about my job." in messages[0][1]["content"]


def test_client_braces_reach_the_server_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "My notes say {history} and {0} and {{phase}}, whatever that means."
    fake = fake_ollama()
    run_turn(monkeypatch, fake.handle, [{"role": "client", "content": text}])
    assert len(fake.requests) == 3
    assert all(text in body["messages"][1]["content"] for body in fake.requests)


def test_unparseable_phase_is_retried_once_then_falls_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_ollama(phase="not json at all")
    reply = run_turn(monkeypatch, fake.handle)
    assert len(bodies_of(fake, "phase")) == 2
    assert len(fake.requests) == 4
    assert reply.response == REPLY
    assert reply.phase == "exploration"
    assert reply.phase_rationale == ""
    assert [f.split(":")[0] for f in reply.diagnostics.fallbacks] == ["recognize_phase"]


def test_async_turn_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_ollama()
    stage = EmoStage(chat_model=ollama_model(monkeypatch, fake.handle))
    reply = asyncio.run(stage.arespond(DIALOGUE))
    assert_full_turn(fake, reply)


# --- transport failures ----------------------------------------------------------------------


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def model_not_found(request: httpx.Request) -> httpx.Response:
    error = f'model "{MODEL}" not found, try pulling it first'
    return httpx.Response(404, json={"error": error})


@pytest.mark.parametrize(
    ("handler", "message"),
    [(refuse, "ollama serve"), (model_not_found, re.escape(f'model "{MODEL}" not found'))],
)
def test_server_failures_become_model_unavailable(
    monkeypatch: pytest.MonkeyPatch, handler: Handler, message: str
) -> None:
    with pytest.raises(ModelUnavailableError, match=message) as caught:
        run_turn(monkeypatch, handler)
    assert isinstance(caught.value.__cause__, (httpx.ConnectError, ollama.ResponseError))


def out_of_memory(request: httpx.Request) -> httpx.Response:
    error = "model requires more system memory (9.1 GiB) than is available (4.0 GiB)"
    return httpx.Response(500, json={"error": error})


def error_mid_stream(request: httpx.Request) -> httpx.Response:
    return ndjson({"error": "an error was encountered while running the model: unexpected EOF"})


def drop_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("peer closed connection", request=request)


@pytest.mark.parametrize("handler", [out_of_memory, error_mid_stream, drop_connection])
def test_other_server_failures_are_emostage_errors(
    monkeypatch: pytest.MonkeyPatch, handler: Handler
) -> None:
    with pytest.raises(EmoStageError):
        run_turn(monkeypatch, handler)


def test_every_request_of_a_turn_names_its_session_for_replica_affinity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_ollama()
    stage = EmoStage(
        chat_model=ollama_model(monkeypatch, fake.handle), checkpointer=InMemorySaver()
    )
    stage.respond(DIALOGUE, thread_id="alice")
    asyncio.run(stage.arespond([{"role": "client", "content": "Still here."}], thread_id="alice"))
    stage.respond(DIALOGUE, thread_id="bob")
    sent = [headers.get(SESSION_HEADER) for headers in fake.request_headers]
    alice = hashlib.sha256(b"alice").hexdigest()[:16]
    assert sent[:6] == [alice] * 6  # sync and async turns of one session: one key
    assert len(set(sent[6:])) == 1 and sent[6] != alice
    # A digest, never the session's name.
    assert not any("alice" in str(headers) for headers in fake.request_headers)


def test_without_a_checkpointer_a_thread_id_only_names_the_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_ollama()
    stage = EmoStage(chat_model=ollama_model(monkeypatch, fake.handle))
    stage.respond(DIALOGUE, thread_id="carol")
    stage.respond([{"role": "client", "content": "Still here."}], thread_id="carol")
    carol = hashlib.sha256(b"carol").hexdigest()[:16]
    assert {headers.get(SESSION_HEADER) for headers in fake.request_headers} == {carol}
    # Nothing was kept: the second turn's prompts hold only its own dialogue.
    second = json.dumps(fake.requests[-1])
    assert "Still here." in second and "sleeping well" not in second
