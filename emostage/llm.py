"""Building the chat model, and the preflight check that turns setup mistakes into one line."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
import ollama
from langchain_core.language_models import BaseChatModel

from emostage.context import Context
from emostage.errors import ModelUnavailableError

# Transport failures: ollama re-raises httpx.ConnectError as the builtin ConnectionError,
# but other paths (timeouts, a stream cut mid-way) raise httpx's own classes. No shared base.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, httpx.TransportError)


def normalize_host(host: str) -> str:
    """Accept OLLAMA_HOST forms like `0.0.0.0:11434` or `localhost` and return a URL."""
    host = host.strip()
    url = httpx.URL(host) if "://" in host else httpx.URL(f"http://{host}")
    if (
        url.port is None and "://" not in host
    ):  # a bare host means Ollama's port, a URL its scheme's
        url = url.copy_with(port=11434)
    if url.host == "0.0.0.0":  # a bind address, not one to connect to
        url = url.copy_with(host="127.0.0.1")
    return str(url).rstrip("/")


def build_chat_model(context: Context) -> BaseChatModel:
    """The chat model that `context` describes."""
    if context.backend == "scripted":
        from emostage.testing import ScriptedChatModel

        return ScriptedChatModel()
    from langchain_ollama import ChatOllama

    return ChatOllama(
        model=context.model,
        base_url=normalize_host(context.ollama_host),
        reasoning=False,
        temperature=context.temperature,
        client_kwargs={"timeout": context.request_timeout_s},
    )


@dataclass
class ModelSource:
    """Hands nodes their model: a fixed one given to `build_graph`, else one per context."""

    fixed: BaseChatModel | None = None
    _cache: dict[tuple[Any, ...], BaseChatModel] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self, context: Context) -> BaseChatModel:
        """The model for this turn; built models are reused across turns."""
        if self.fixed is not None:
            return self.fixed
        key = (
            context.backend,
            context.model,
            context.ollama_host,
            context.temperature,
            context.request_timeout_s,
        )
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build_chat_model(context)
            return self._cache[key]


def describe_model(model: BaseChatModel | None, context: Context) -> str:
    """A readable name for diagnostics: `backend:model`, or the plugged-in model's own name."""
    if model is None:
        return f"{context.backend}:{context.model}"
    name = getattr(model, "model", None) or getattr(model, "model_name", None)
    return str(name or type(model).__name__)


def preflight(context: Context) -> None:
    """Check that the backend can serve the model, before any turn runs.

    Raises:
        ModelUnavailableError: with a one-line message that says how to fix it.
    """
    if context.backend != "ollama":
        return
    host = normalize_host(context.ollama_host)
    client = ollama.Client(host=host, timeout=min(context.request_timeout_s, 5.0))
    try:
        listed = client.list()
    except CONNECTION_ERRORS:
        raise ModelUnavailableError(
            f"Cannot reach Ollama at {host}. Start it with `ollama serve` "
            "(or set OLLAMA_HOST to where it runs)."
        ) from None
    except ollama.ResponseError as exc:
        raise ModelUnavailableError(
            f"Ollama at {host} answered with an error ({exc.status_code}): {exc.error}."
        ) from None
    names = {m.model for m in listed.models if m.model}
    if not _has_model(context.model, names):
        raise ModelUnavailableError(
            f"Model {context.model!r} is not pulled on {host}. Run `ollama pull {context.model}`."
        )


def _has_model(wanted: str, available: set[str]) -> bool:
    # Ollama lists "qwen2.5:latest" for a model pulled as "qwen2.5".
    return wanted in available or f"{wanted}:latest" in available
