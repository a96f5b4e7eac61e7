"""What the fake Ollama (`emostage.testing.ollama_server`) puts on the wire.

Its fault modes; Ollama's JSON answers and NDJSON stream lines; another kind of web
server's page; and `served_in_process`, which answers an `httpx` request with a werkzeug
handler in this process, with no socket.
"""

from __future__ import annotations

import json
import socket
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from langchain_core.messages import AIMessage
from werkzeug import Request, Response
from werkzeug.test import EnvironBuilder

Fault = Literal[
    "refuse",
    "delay",
    "http_500",
    "http_429",
    "model_not_found",
    "cut_stream",
    "not_json",
    "trickle",
    "stall",
    "flood",
    "not_ollama",
]
FAULTS: tuple[Fault, ...] = typing.get_args(Fault)
NEVER_DONE: tuple[Fault, ...] = ("trickle", "stall")  # answers only a real socket can hang up
FLOOD_CHARS = 2_000_000  # what `flood` sends, ignoring num_predict

_HTML_PAGE = "<!DOCTYPE html>\n<html><head><title>Welcome</title></head>\n" + (
    "<body><p>This is some other web server.</p></body></html>\n" * 200
)


class StreamCut(Exception):
    """Raised inside a response stream to drop the connection mid-way."""


def served_in_process(
    handler: Callable[[Request], Response], request: httpx.Request
) -> httpx.Response:
    """`handler`'s answer to `request`, as an `httpx.MockTransport` handler returns it.

    Raises:
        httpx.RemoteProtocolError: the answer's stream was cut (`StreamCut`).
    """
    url = request.url
    received = Request(
        EnvironBuilder(
            method=request.method,
            base_url=f"{url.scheme}://{url.netloc.decode()}",
            path=url.path,
            query_string=url.query.decode(),
            headers=list(request.headers.items()),
            data=request.read(),
        ).get_environ()
    )
    answer = handler(received)
    try:
        body = b"".join(answer.iter_encoded())
    except StreamCut as cut:
        raise httpx.RemoteProtocolError(str(cut), request=request) from cut
    headers = [
        (name, value)
        for name, value in answer.headers.items()
        if name.lower() not in ("content-length", "transfer-encoding")
    ]
    return httpx.Response(answer.status_code, headers=headers, content=body, request=request)


def not_ollama(request: Request) -> Response:
    """Another kind of web server: a page at `/`, 404 elsewhere."""
    status = 200 if request.path == "/" else 404
    return Response(_HTML_PAGE, status=status, content_type="text/html")


def not_found(request: Request) -> Response:
    """Ollama's answer to a path it does not have."""
    return json_response({"error": f"{request.method} {request.path}: not found"}, status=404)


def done_line(body: dict[str, Any], answer: AIMessage) -> dict[str, Any]:
    """The last line of an answer to the chat request `body`: done, with token counts."""
    usage = answer.usage_metadata or {"input_tokens": 0, "output_tokens": 0}
    return {
        "model": body["model"],
        "created_at": now(),
        "done": True,
        "done_reason": "stop",
        "total_duration": 1,
        "prompt_eval_count": usage["input_tokens"],
        "eval_count": usage["output_tokens"],
    }


def message(content: str) -> dict[str, str]:
    """An answer's `message` field."""
    return {"role": "assistant", "content": content}


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    """A JSON answer."""
    return Response(json.dumps(payload), status=status, content_type="application/json")


def now() -> str:
    """A `created_at` timestamp."""
    return datetime.now(UTC).isoformat()


def closed_port() -> int:
    """A port on 127.0.0.1 that nobody listens on (just now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
