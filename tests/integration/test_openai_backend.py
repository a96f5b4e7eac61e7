"""The openai backend against a local OpenAI-compatible test server (pytest-httpserver).

(Its one-line error without a server: tests/unit/test_backends.py.)
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from emostage import EmoStage, ModelUnavailableError
from emostage.models.backends.transport import AsyncBoundedTransport

from ..conftest import closed_url

MODEL = "qwen2.5-7b-instruct"
DIALOGUE = [
    {"role": "counselor", "content": "Where would you like to start tonight?"},
    {"role": "client", "content": "My mother is ill and I am exhausted {history}."},
]


def completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def streamed(content: str) -> str:
    """`content` as a streamed completion: server-sent events, a few words each."""
    words = content.split(" ")
    pieces = [" ".join(words[i : i + 3]) + " " for i in range(0, len(words), 3)]
    pieces[-1] = pieces[-1].rstrip()
    events = []
    for piece in pieces:
        delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
        events.append(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": MODEL,
                "choices": [delta],
            }
        )
    events.append({**events[-1], "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"


def answer(request: Request) -> Response:
    """Like a schema-following server: JSON for a response_format, text otherwise.

    A request that asks to stream (a reply shown as it is written) gets server-sent events.
    """
    body = request.get_json()
    schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema", {})
    if "phase" in schema.get("properties", {}):
        content = json.dumps({"why": "still telling the story", "phase": "exploration"})
    elif "feel" in schema.get("properties", {}):
        content = json.dumps({"feel": [{"n": "exhaustion", "i": 4}]})
    else:
        content = "That sounds exhausting. What has been the hardest part?"
    if body.get("stream"):
        return Response(streamed(content), content_type="text/event-stream")
    return Response(json.dumps(completion(content)), content_type="application/json")


@pytest.fixture
def server(httpserver: HTTPServer) -> HTTPServer:
    models = {"object": "list", "data": [{"id": MODEL, "object": "model"}]}
    httpserver.expect_request("/v1/models").respond_with_json(models)
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_handler(answer)
    return httpserver


def stage_for(server: HTTPServer, **settings: Any) -> EmoStage:
    base_url = server.url_for("/v1")
    return EmoStage(backend="openai", base_url=base_url, model=MODEL, **settings)


def sent_bodies(server: HTTPServer) -> list[dict[str, Any]]:
    return [req.get_json() for req, _ in server.log if req.path.endswith("/chat/completions")]


def test_full_turn_over_the_openai_protocol(server: HTTPServer) -> None:
    stage = stage_for(server)
    stage.preflight()
    reply = stage.respond(DIALOGUE)
    assert reply.response == "That sounds exhausting. What has been the hardest part?"
    assert reply.phase == "exploration"
    assert reply.perspective is not None and reply.perspective.emotions[0].name == "exhaustion"
    assert reply.diagnostics.fallbacks == []
    bodies = sent_bodies(server)
    assert len(bodies) == 3
    assert {b["model"] for b in bodies} == {MODEL}
    formats = [b.get("response_format", {}).get("type") for b in bodies]
    assert sorted(map(str, formats)) == ["None", "json_schema", "json_schema"]
    prefixes = {json.dumps(b["messages"][:2]) for b in bodies}
    assert len(prefixes) == 1
    assert "{history}" in bodies[0]["messages"][1]["content"]


def test_api_key_comes_from_the_environment(
    server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
    stage_for(server, mode="baseline").respond(DIALOGUE)
    request, _ = server.log[-1]
    assert request.headers["Authorization"] == "Bearer sk-local"


def test_preflight_names_the_models_the_server_has(server: HTTPServer) -> None:
    stage = EmoStage(backend="openai", base_url=server.url_for("/v1"), model="other")
    with pytest.raises(ModelUnavailableError, match=f"serves: {MODEL}"):
        stage.preflight()


def test_unreachable_server() -> None:
    url = closed_url("/v1")
    with pytest.raises(ModelUnavailableError, match="Cannot reach an OpenAI-compatible server"):
        EmoStage(backend="openai", base_url=url, model=MODEL).preflight()


def test_async_turn_over_the_openai_protocol_uses_the_async_transport(
    server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    send = AsyncBoundedTransport.handle_async_request

    async def recorded(self: AsyncBoundedTransport, request: httpx.Request) -> httpx.Response:
        threads.append(threading.current_thread().name)
        return await send(self, request)

    monkeypatch.setattr(AsyncBoundedTransport, "handle_async_request", recorded)
    reply = asyncio.run(stage_for(server).arespond(DIALOGUE))
    assert reply.response == "That sounds exhausting. What has been the hardest part?"
    assert not reply.diagnostics.fallbacks
    assert threads == [threading.main_thread().name] * 3  # phase, perspective, draft
