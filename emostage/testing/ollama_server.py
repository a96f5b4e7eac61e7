"""An Ollama-protocol server on 127.0.0.1, for tests and benchmarks. Never a real Ollama.

It speaks the part of Ollama's REST API that ChatOllama and the preflight use
(`/api/chat` with streaming NDJSON and `format`, `/api/tags`, `/api/show`, `/api/version`).
Answers come from a `SchemaGuidedChatModel`: the scripted model, or the embedded llama.cpp
model for real output over real HTTP. Fault modes reproduce what a sick server does.
`handle` answers the same requests in this process, with no socket, for an
`httpx.MockTransport`. What goes on the wire is `emostage.testing.ollama_wire`'s. Needs
`pytest-httpserver` (in the `dev` extra).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import httpx
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langsmith import tracing_context
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response
from werkzeug.datastructures import Headers

from emostage.models.backends.structured import SchemaGuidedChatModel
from emostage.testing import ScriptedChatModel
from emostage.testing.ollama_wire import (
    FLOOD_CHARS,
    NEVER_DONE,
    Fault,
    StreamCut,
    closed_port,
    done_line,
    json_response,
    message,
    not_found,
    not_ollama,
    now,
    served_in_process,
)
from emostage.testing.server_speed import (
    ServerSpeed,
    Slots,
    SlotTiming,
    approx_tokens,
    token_pieces,
)

_ROLES = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}


class FakeOllama:
    """A local server that answers like Ollama, optionally with one fault on `/api/chat`.

    Example:
        >>> with FakeOllama(fault="http_500") as server:  # doctest: +SKIP
        ...     EmoStage(ollama_host=server.url).respond(dialogue)

        In this process, as the transport of an `httpx` client (nothing to start):

        >>> httpx.Client(transport=httpx.MockTransport(FakeOllama().handle))  # doctest: +SKIP
    """

    def __init__(
        self,
        model: SchemaGuidedChatModel | None = None,
        *,
        models: tuple[str, ...] = ("qwen2.5:7b",),
        fault: Fault | None = None,
        fault_times: int | None = None,
        delay_s: float = 3.0,
        retry_after: float = 1.0,
        speed: ServerSpeed | Mapping[str, ServerSpeed] | None = None,
    ) -> None:
        """Prepare the server; `start()` (or `with`) opens it.

        Args:
            model: Writes the answers; default: a `ScriptedChatModel`.
            models: Model names the server says it has.
            fault: What goes wrong on `/api/chat`.
            fault_times: Only the first N chat requests fail; default: all of them.
            delay_s: How long the `delay` fault waits before answering, and the gap
                between the lines `trickle` sends (one every `delay_s`, never done).
            retry_after: The `Retry-After` of the `http_429` fault, in seconds.
            speed: Take as long as a server of this speed would, or per model name a
                speed of its own (each model with its own slots); default: at once.
        """
        self.model = model or ScriptedChatModel()
        self.models = models
        self.fault = fault
        self.fault_times = fault_times
        self.delay_s = delay_s
        self.retry_after = retry_after
        self._stopping = threading.Event()  # ends the never-ending answers at stop()
        speeds = speed if isinstance(speed, Mapping) else {m: speed for m in models if speed}
        self.slots = {name: Slots(model_speed) for name, model_speed in speeds.items()}
        self.requests: list[dict[str, Any]] = []
        """The body of each `/api/chat` request, in order."""
        self.request_headers: list[Headers] = []
        """The headers of each `/api/chat` request (case-insensitive), in order."""
        self._asked = threading.Condition()
        self.hang_ups: list[float] = []
        """When clients closed the connection mid-answer (`time.monotonic()`), `trickle`."""
        self.peak_in_flight = 0
        """The most `/api/chat` requests waiting for their answer at once."""
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self.served: list[tuple[SlotTiming, int]] = []
        """With a `speed`: each request's timing and generated tokens."""
        self._server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self._closed_port: int | None = None

    @property
    def url(self) -> str:
        """Base URL to give as `ollama_host`."""
        if self.fault == "refuse":
            return f"http://127.0.0.1:{self._closed_port}"
        return self._server.url_for("").rstrip("/")

    def start(self) -> FakeOllama:
        """Start serving; with the `refuse` fault, reserve a port nobody listens on."""
        if self.fault == "refuse":
            self._closed_port = closed_port()
            return self
        if self.fault == "not_ollama":  # another kind of web server at that address
            self._server.expect_request(re.compile(".*")).respond_with_handler(not_ollama)
        else:
            for (path, method), handler in self._routes().items():
                self._server.expect_request(path, method=method).respond_with_handler(handler)
        # Request logs and injected stream cuts are expected here, not news.
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
        self._server.start()
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request in this process, with no socket: an `httpx.MockTransport` handler.

        The same routes, answers and faults as the served server (`refuse` raises httpx's
        `ConnectError`, `cut_stream` its `RemoteProtocolError`), but for the answers that
        never end (`trickle`, `stall`): only a real connection can be hung up on.

        Raises:
            ValueError: The fault is `trickle` or `stall`.
        """
        if self.fault in NEVER_DONE:
            raise ValueError(f"the {self.fault!r} fault needs a served FakeOllama: start() it")
        if self.fault == "refuse":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if self.fault == "not_ollama":
            return served_in_process(not_ollama, request)
        return served_in_process(
            self._routes().get((request.url.path, request.method), not_found), request
        )

    def wait_for_requests(self, count: int = 1, timeout_s: float = 60.0) -> bool:
        """Wait until `/api/chat` has had `count` requests; False if `timeout_s` passed first."""
        with self._asked:
            return self._asked.wait_for(lambda: len(self.requests) >= count, timeout_s)

    def stop(self) -> None:
        """Stop serving."""
        self._stopping.set()
        if self._server.is_running():
            self._server.clear()
            self._server.stop()

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _routes(self) -> dict[tuple[str, str], Callable[[Request], Response]]:
        """The handler of each (path, method) Ollama's API has here."""
        return {
            ("/api/version", "GET"): lambda _: json_response({"version": "0.12.0"}),
            ("/api/tags", "GET"): self._tags,
            ("/api/show", "POST"): self._show,
            ("/api/chat", "POST"): self._chat,
        }

    def _tags(self, _: Request) -> Response:
        models = [{"name": m, "model": m, "size": 1, "digest": "0" * 64} for m in self.models]
        return json_response({"models": models})

    def _show(self, request: Request) -> Response:
        if request.get_json().get("model") not in self.models:
            return json_response({"error": "model not found"}, status=404)
        return json_response({"details": {"family": "fake"}, "capabilities": ["completion"]})

    def _chat(self, request: Request) -> Response:
        with self._count_lock:
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            return self._chat_answer(request)
        finally:
            with self._count_lock:
                self._in_flight -= 1

    def _chat_answer(self, request: Request) -> Response:
        body: dict[str, Any] = request.get_json()
        with self._asked:
            self.requests.append(body)
            self.request_headers.append(Headers(request.headers))
            self._asked.notify_all()
        fault = self._fault_now()
        if fault == "delay":
            time.sleep(self.delay_s)
        if fault == "http_500":
            return json_response({"error": "model runner has unexpectedly stopped"}, status=500)
        if fault == "http_429":
            busy = json_response({"error": "server busy, please try again"}, status=429)
            busy.headers["Retry-After"] = f"{self.retry_after:g}"
            return busy
        if fault in ("trickle", "stall"):
            return Response(self._never_done(body, fault), content_type="application/x-ndjson")
        if fault == "model_not_found" or body.get("model") not in self.models:
            return json_response({"error": f"model '{body.get('model')}' not found"}, status=404)
        if fault == "not_json":
            return Response("<html>502 Bad Gateway</html>", status=200, content_type="text/html")
        answer = self._answer(body)
        if not body.get("stream", True):
            with self._serving(body, answer) as decode:
                decode(answer.text)
                return json_response({**done_line(body, answer), "message": message(answer.text)})
        return Response(self._stream(body, answer, fault), content_type="application/x-ndjson")

    @contextmanager
    def _serving(self, body: dict[str, Any], answer: AIMessage) -> Iterator[Callable[[str], None]]:
        """Hold a slot and pay prefill; yields a function that pays decoding for a piece."""
        slots = self.slots.get(body["model"])
        if slots is None:
            yield lambda piece: None
            return
        decode_tps = slots.speed.decode_tps
        prompt = approx_tokens("\n".join(f"{m['role']}: {m['content']}" for m in body["messages"]))
        with slots.serve(prompt) as timing:
            self.served.append((timing, len(approx_tokens(answer.text))))
            time.sleep(timing.prefill_s)
            yield lambda piece: time.sleep(len(approx_tokens(piece)) / decode_tps)

    def _fault_now(self) -> Fault | None:
        if self.fault_times is not None and len(self.requests) > self.fault_times:
            return None
        return self.fault

    def _answer(self, body: dict[str, Any]) -> AIMessage:
        messages = [_ROLES[m["role"]](content=m["content"]) for m in body["messages"]]
        schema = body.get("format")
        options: dict[str, Any] = {"json_schema": schema} if isinstance(schema, dict) else {}
        if "num_predict" in body.get("options", {}):
            options["max_tokens"] = body["options"]["num_predict"]
        with tracing_context(enabled=False):  # a stand-in server traces nothing
            result = self.model.invoke(messages, **options)
        return result if isinstance(result, AIMessage) else AIMessage(content=result.text)

    def _never_done(self, body: dict[str, Any], fault: Fault) -> Iterator[str]:
        """An answer that never ends: a line every `delay_s`, or nothing after the first."""
        line = {"model": body["model"], "created_at": now(), "message": message("…")}
        try:
            while not self._stopping.is_set():
                yield json.dumps({**line, "done": False}) + "\n"
                while fault == "stall" and not self._stopping.wait(1.0):
                    pass
                self._stopping.wait(self.delay_s)
        finally:
            # Closed early: the next line could not be written, the client had hung up.
            if not self._stopping.is_set():
                self.hang_ups.append(time.monotonic())

    def _stream(
        self, body: dict[str, Any], answer: AIMessage, fault: Fault | None
    ) -> Iterator[str]:
        if fault == "flood":  # a server that ignores num_predict
            answer = AIMessage(content="x" * FLOOD_CHARS)
            pieces = [answer.text[i : i + 4096] for i in range(0, FLOOD_CHARS, 4096)]
        else:
            pieces = token_pieces(answer.text)
        with self._serving(body, answer) as decode:
            for index, piece in enumerate(pieces):
                if fault == "cut_stream" and index == len(pieces) // 2:
                    raise StreamCut("connection dropped mid-stream (fault injection)")
                decode(piece)
                line = {"model": body["model"], "created_at": now(), "message": message(piece)}
                yield json.dumps({**line, "done": False}) + "\n"
        yield json.dumps({**done_line(body, answer), "message": message("")}) + "\n"
