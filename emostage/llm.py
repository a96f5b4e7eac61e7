"""Model construction per backend, the `auto` choice, and preflight checks."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable
from pydantic import BaseModel

from emostage.backends import ollama, openai
from emostage.context import Context
from emostage.errors import ConfigError, ModelUnavailableError

__all__ = ["ModelSource", "build_chat_model", "preflight", "resolve_backend", "server_error"]

QUALITY_HINT = (
    "For real counseling quality, run Ollama with qwen2.5:7b or larger, "
    "or pass --model-path to an instruct GGUF."
)


def build_chat_model(context: Context) -> BaseChatModel:
    """The chat model that `context` describes (`auto` is resolved first)."""
    context, _ = resolve_backend(context)
    if context.backend == "scripted":
        from emostage.testing import ScriptedChatModel

        return ScriptedChatModel()
    if context.backend == "llamacpp":
        from emostage.backends.llamacpp import EMBEDDED_CHAT_FORMAT, ChatLlamaCpp

        return ChatLlamaCpp(
            model_path=_gguf_path(context),
            chat_format=None if context.model_path else EMBEDDED_CHAT_FORMAT,
            n_ctx=context.n_ctx,
            temperature=context.temperature,
            max_tokens=context.max_tokens,
        )
    if context.backend == "openai":
        return openai.build_openai(context)
    return ollama.build_ollama(context)


def resolve_backend(context: Context) -> tuple[Context, str]:
    """Pick a concrete backend for `auto`: Ollama if its preflight passes, else llama.cpp.

    Returns:
        The context with a concrete backend, and a one-line note on what was picked and
        why (empty when nothing was chosen automatically).

    Raises:
        ModelUnavailableError: neither Ollama nor the local backend can run.
    """
    if context.backend != "auto":
        return context, ""
    ollama_context = replace(context, backend="ollama")
    try:
        ollama.preflight_ollama(ollama_context)
    except ModelUnavailableError as no_ollama:
        local = replace(context, backend="llamacpp")
        try:
            preflight_llamacpp(local)
        except ConfigError as no_local:
            raise ModelUnavailableError(f"{no_ollama} Or: {no_local}") from None
        what = local.model_path or "the embedded Gemma 3 270M base model (plumbing only)"
        return (
            local,
            f"backend: llamacpp with {what}. Ollama was not used: {no_ollama} {QUALITY_HINT}",
        )
    return ollama_context, f"backend: ollama at {context.ollama_host} with {context.model}"


def preflight(context: Context) -> None:
    """Check that the backend can serve the model, before any turn runs.

    Raises:
        ModelUnavailableError: a server is down or lacks the model, with the fix.
        ConfigError: the backend's settings or installation are incomplete.
    """
    context, _ = resolve_backend(context)
    for settings in (
        [context] if context.analysis_model is None else [context, context.for_analysis()]
    ):
        if settings.backend == "ollama":
            ollama.preflight_ollama(settings)
        elif settings.backend == "openai":
            openai.preflight_openai(settings)
        elif settings.backend == "llamacpp":
            preflight_llamacpp(settings)


def server_error(exc: BaseException) -> ModelUnavailableError | None:
    """The user-facing error for a model server failure of any backend, else None."""
    return ollama.server_error(exc) or openai.server_error(exc)


def preflight_llamacpp(context: Context) -> None:
    """Check that llama.cpp is installed and runs the GGUF, in a child process.

    Raises:
        ConfigError: with the install or rebuild command, or the path problem.
    """
    from emostage.backends.llamacpp_check import check_llamacpp

    check_llamacpp(_gguf_path(context))


def _gguf_path(context: Context) -> str:
    from emostage.backends.llamacpp import embedded_model_path, require_gguf

    if context.model_path is None:
        return str(embedded_model_path())
    return require_gguf(context.model_path)


def describe_model(model: BaseChatModel | None, context: Context) -> str:
    """A readable name for diagnostics: `backend:model`, or the plugged-in model's name."""
    if model is None:
        context, _ = resolve_backend(context)
        if context.backend == "llamacpp":
            from emostage.backends.llamacpp import EMBEDDED_MODEL

            return f"llamacpp:{context.model_path or EMBEDDED_MODEL}"
        return f"{context.backend}:{context.model}"
    name = getattr(model, "model", None) or getattr(model, "model_name", None)
    return str(name or type(model).__name__)


def model_fingerprint(context: Context) -> dict[str, str | None]:
    """What identifies the model exactly, for reproducing a run: name plus digest.

    The server's address is left out: the same model moved to another port is the same model.
    """
    context, _ = resolve_backend(context)
    found: dict[str, str | None] = {"backend": context.backend, "model": context.model}
    if context.backend == "ollama":
        found["digest"] = ollama.ollama_digest(context)
    elif context.backend == "llamacpp":
        path = _gguf_path(context)
        with open(path, "rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()
        found |= {"model": Path(path).name, "digest": f"sha256:{digest}"}
    return found


@dataclass
class ModelSource:
    """Hands nodes their model: a fixed one given to `build_graph`, else one per context."""

    fixed: BaseChatModel | None = None
    _cache: dict[tuple[Any, ...], BaseChatModel] = field(default_factory=dict, repr=False)
    _structured: dict[tuple[int, type[BaseModel]], Runnable[Any, Any]] = field(
        default_factory=dict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self, context: Context) -> BaseChatModel:
        """The model for this turn; a built model is reused while its settings stay."""
        if self.fixed is not None:
            return self.fixed
        key = context.model_settings()
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build_chat_model(context)
            return self._cache[key]

    def structured(self, context: Context, schema: type[BaseModel]) -> Runnable[Any, Any]:
        """The turn's model with structured output for `schema` (raw answer included).

        Built once per model and schema: building it renders the JSON schema, which cost
        more than the rest of a turn's framework work put together.
        """
        model = self.get(context)
        key = (id(model), schema)  # the model lives as long as this source
        with self._lock:
            if key not in self._structured:
                self._structured[key] = model.with_structured_output(schema, include_raw=True)
            return self._structured[key]
