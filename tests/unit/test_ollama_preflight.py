"""Ollama's preflight (is the server up, is the model pulled?) and host forms, over HTTP.

`preflight`'s `ollama.Client` is routed to an `httpx.MockTransport`; nothing opens a socket.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import ollama
import pytest

from emostage import Context, ModelUnavailableError
from emostage.models.backends.ollama import normalize_host
from emostage.models.source import preflight

Handler = Callable[[httpx.Request], httpx.Response]

pytestmark = pytest.mark.usefixtures("no_settings_from_env")

HOST = "http://ollama.test:11434"
TIMEOUT_S = 42.0


def preflight_for(model: str) -> None:
    preflight(Context(model=model, ollama_host=HOST, request_timeout_s=TIMEOUT_S))


def tags(*names: str) -> Handler:
    """/api/tags of a server that has pulled `names`."""

    def answer(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("GET", "/api/tags")
        models = [
            {
                "name": name,
                "model": name,
                "modified_at": "2025-05-30T09:41:12.123456789+02:00",
                "size": 4_683_087_332,
                "digest": "845dbda0ea48ed749caafd9e6037047aa19acfcfd82e704d7ca97d631a0b697e",
                "details": {
                    "parent_model": "",
                    "format": "gguf",
                    "family": "qwen2",
                    "families": ["qwen2"],
                    "parameter_size": "7.6B",
                    "quantization_level": "Q4_K_M",
                },
            }
            for name in names
        ]
        return httpx.Response(200, json={"models": models})

    return answer


def serve_preflight(monkeypatch: pytest.MonkeyPatch, handler: Handler) -> list[dict[str, Any]]:
    """Route `preflight`'s `ollama.Client` to `handler`; returns the clients' arguments."""
    made: list[dict[str, Any]] = []
    real_client = ollama.Client

    def client(**kwargs: Any) -> ollama.Client:
        made.append(kwargs)
        return real_client(**kwargs, transport=httpx.MockTransport(handler))

    monkeypatch.setattr(ollama, "Client", client)
    return made


def test_preflight_passes_when_the_model_is_pulled(monkeypatch: pytest.MonkeyPatch) -> None:
    made = serve_preflight(monkeypatch, tags("llama3.2:1b", "qwen2.5:7b"))
    preflight_for("qwen2.5:7b")
    assert made == [{"host": HOST, "timeout": 5.0}]


def test_preflight_accepts_the_latest_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    serve_preflight(monkeypatch, tags("qwen2.5:latest"))
    preflight_for("qwen2.5")


def test_preflight_names_the_pull_command(monkeypatch: pytest.MonkeyPatch) -> None:
    serve_preflight(monkeypatch, tags("llama3.2:1b"))
    with pytest.raises(ModelUnavailableError, match=re.escape("ollama pull qwen2.5:7b")):
        preflight_for("qwen2.5:7b")


@pytest.mark.parametrize(
    "error", [httpx.ConnectError("refused"), httpx.ConnectTimeout("timed out")]
)
def test_preflight_without_a_server_says_ollama_serve(
    monkeypatch: pytest.MonkeyPatch, error: httpx.TransportError
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    serve_preflight(monkeypatch, fail)
    with pytest.raises(ModelUnavailableError, match="ollama serve"):
        preflight_for("qwen2.5:7b")


def test_preflight_handles_the_builtin_connection_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class RefusingClient:
        def __init__(self, **kwargs: Any) -> None:
            pass

        def list(self) -> ollama.ListResponse:
            raise ConnectionError("Failed to connect to Ollama.")

    monkeypatch.setattr(ollama, "Client", RefusingClient)
    with pytest.raises(ModelUnavailableError, match="ollama serve"):
        preflight_for("qwen2.5:7b")


def test_preflight_reports_a_server_error(monkeypatch: pytest.MonkeyPatch) -> None:
    serve_preflight(monkeypatch, lambda request: httpx.Response(500, json={"error": "disk full"}))
    with pytest.raises(ModelUnavailableError, match=r"\(500\): disk full"):
        preflight_for("qwen2.5:7b")


# --- hosts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0:11434", "http://127.0.0.1:11434"),
        ("localhost", "http://localhost:11434"),
        ("http://example:8080/", "http://example:8080"),
        ("https://ollama.example.com", "https://ollama.example.com"),
    ],
)
def test_normalize_host(host: str, url: str) -> None:
    assert normalize_host(host) == url
