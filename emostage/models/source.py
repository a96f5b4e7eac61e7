"""Choosing the backend (`auto` included) and caching built models.

Each backend does its own work behind one interface (`emostage.models.backends.Backend`); this
module only picks which one, and keeps built models for reuse.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable
from pydantic import BaseModel

from emostage.analysis import answer_token_cap
from emostage.context import Context
from emostage.errors import ConfigError, ModelUnavailableError
from emostage.models.backends import Fingerprint, get_backend

__all__ = [
    "ModelSource",
    "build_chat_model",
    "describe_model",
    "model_fingerprint",
    "preflight",
    "resolve_backend",
    "server_error",
]

QUALITY_HINT = (
    "For real counseling quality, run Ollama with qwen2.5:7b or larger, "
    "or pass --model-path to an instruct GGUF."
)
_SERVERS = ("ollama", "openai")  # the backends whose clients raise transport errors


def build_chat_model(context: Context) -> BaseChatModel:
    """The chat model that `context` describes (`auto` is resolved first)."""
    context, _ = resolve_backend(context)
    return get_backend(context.backend).build(context)


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
        get_backend("ollama").preflight(ollama_context)
    except ModelUnavailableError as no_ollama:
        local = replace(context, backend="llamacpp")
        try:
            get_backend("llamacpp").preflight(local)
        except ConfigError as no_local:
            raise ModelUnavailableError(f"{no_ollama} Or: {no_local}") from None
        what = local.model_path or "the embedded Gemma 3 270M base model (plumbing only)"
        return (
            local,
            f"backend: llamacpp with {what}. Ollama was not used: {no_ollama} {QUALITY_HINT}",
        )
    return ollama_context, f"backend: ollama at {context.ollama_host} with {context.model}"


def preflight(context: Context) -> None:
    """Check that the backend can serve the model(s), before any turn runs.

    Raises:
        ModelUnavailableError: a server is down or lacks the model, with the fix.
        ConfigError: the backend's settings or installation are incomplete.
    """
    context, _ = resolve_backend(context)
    settings = [context] if context.analysis_model is None else [context, context.for_analysis()]
    for each in settings:
        get_backend(each.backend).preflight(each)


def server_error(exc: BaseException) -> ModelUnavailableError | None:
    """The user-facing error for a model server failure of any backend, else None."""
    for name in _SERVERS:
        if error := get_backend(name).server_error(exc):
            return error
    return None


def describe_model(model: BaseChatModel | None, context: Context) -> str:
    """A readable name for diagnostics: `backend:model`, or the plugged-in model's name."""
    if model is None:
        context, _ = resolve_backend(context)
        return get_backend(context.backend).describe(context)
    name = getattr(model, "model", None) or getattr(model, "model_name", None)
    return str(name or type(model).__name__)


def model_fingerprint(context: Context) -> Fingerprint:
    """What identifies the model exactly, for reproducing a run: name plus digest.

    The server's address is left out: the same model moved to another port is the same model.
    """
    context, _ = resolve_backend(context)
    return get_backend(context.backend).fingerprint(context)


# The output-limit field of each backend's chat model: Ollama's, then llama.cpp's and OpenAI's.
_TOKEN_LIMITS = ("num_predict", "max_tokens")


def with_token_cap(model: BaseChatModel, tokens: int) -> BaseChatModel:
    """`model` with its output limit set to `tokens`; a model without one, as it is.

    A shallow copy: it shares the original's client (or loaded GGUF) and lock.
    """
    for name in _TOKEN_LIMITS:
        if name in type(model).model_fields:
            return model.model_copy(update={name: tokens})
    return model


@dataclass
class ModelSource:
    """Hands nodes their model: a fixed one given to `build_graph`, else one per context."""

    fixed: BaseChatModel | None = None
    _cache: dict[tuple[Any, ...], BaseChatModel] = field(default_factory=dict, repr=False)
    _structured: dict[tuple[int, type[BaseModel]], Runnable[Any, Any] | None] = field(
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

    def built(self, context: Context) -> bool:
        """Whether the turn's models (drafting and analysis) are built already."""
        if self.fixed is not None:
            return True
        with self._lock:
            return all(c.model_settings() in self._cache for c in _turn_models(context))

    def build(self, context: Context) -> None:
        """Build the turn's models now (async nodes call it on a worker thread).

        The event loop must never wait on a model's files: the embedded GGUF is assembled
        and loaded on first use.
        """
        for settings in _turn_models(context):
            self.get(settings)

    def structured(self, context: Context, schema: type[BaseModel]) -> Runnable[Any, Any] | None:
        """The turn's model with structured output for `schema` (raw answer included).

        Its output limit is the schema's own (`answer_token_cap`), not the reply's
        `max_tokens`: an answer the schema allows is never cut off and asked again.
        Built once per model and schema: building it renders the JSON schema, which cost
        more than the rest of a turn's framework work put together. None for a chat model
        that has no structured output (a plugged-in test double, say).
        """
        model = self.get(context)
        key = (id(model), schema)  # the model lives as long as this source
        with self._lock:
            if key not in self._structured:
                capped = with_token_cap(model, answer_token_cap(schema))
                try:
                    built = capped.with_structured_output(schema, include_raw=True)
                except NotImplementedError:
                    built = None
                self._structured[key] = built
            return self._structured[key]


def _turn_models(context: Context) -> tuple[Context, ...]:
    """The settings of each model a turn asks: the drafting one, and the analysis one."""
    analysis = context.for_analysis()
    return (context,) if analysis is context else (context, analysis)
