"""The default backend: a model served by Ollama, through langchain-ollama's ChatOllama."""

from __future__ import annotations

import sys
from types import ModuleType

import httpx
from langchain_core.language_models import BaseChatModel

from emostage.context import Context
from emostage.errors import ConfigError, ModelUnavailableError, TransientModelError, server_detail
from emostage.models.backends import Backend, Fingerprint
from emostage.models.backends.transport import AsyncBoundedTransport, BoundedTransport

# Transport failures: ollama re-raises httpx.ConnectError as the builtin ConnectionError,
# but other paths (timeouts, a stream cut mid-way) raise httpx's own classes. No shared base.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, httpx.TransportError)


def ollama_client_module() -> ModuleType:
    """The `ollama` package, imported on first use.

    It builds a client from `OLLAMA_HOST` when imported, so a malformed value would break
    `import emostage` if it were imported there; here it becomes one clear error.

    Raises:
        ConfigError: `OLLAMA_HOST` is not an address.
    """
    try:
        import ollama
    except ValueError as exc:
        sys.modules.pop("ollama", None)
        raise ConfigError(f"OLLAMA_HOST is not a valid address ({exc}); fix or unset it.") from None
    return ollama


def normalize_host(host: str) -> str:
    """Accept OLLAMA_HOST forms like `0.0.0.0:11434` or `localhost` and return a URL.

    Raises:
        ConfigError: `host` is not an address.
    """
    host = host.strip()
    try:
        url = httpx.URL(host) if "://" in host else httpx.URL(f"http://{host}")
    except httpx.InvalidURL as exc:
        raise ConfigError(f"OLLAMA_HOST {host!r} is not a valid address ({exc}).") from None
    if url.port is not None and not 0 < url.port < 65536:
        raise ConfigError(f"OLLAMA_HOST {host!r} has port {url.port}, outside 1-65535.")
    if url.port is None and "://" not in host:  # a bare host means Ollama's port
        url = url.copy_with(port=11434)
    if url.host == "0.0.0.0":  # a bind address, not one to connect to
        url = url.copy_with(host="127.0.0.1")
    return str(url).rstrip("/")


def server_error(exc: BaseException) -> ModelUnavailableError | None:
    """The user-facing error for an Ollama client failure, or None if it is not one."""
    if isinstance(exc, httpx.TimeoutException):
        return TransientModelError(
            "The model server timed out. Raise request_timeout_s (EMOSTAGE_TIMEOUT) "
            "or use a smaller model."
        )
    if isinstance(exc, ConnectionError | httpx.ConnectError):
        return TransientModelError("Cannot reach the model server. Is it running (`ollama serve`)?")
    if isinstance(exc, httpx.TransportError):
        return TransientModelError(
            f"The connection to the model server broke ({type(exc).__name__}); try again."
        )
    if "ollama" in sys.modules and isinstance(exc, sys.modules["ollama"].ResponseError):
        detail = server_detail(exc.error)
        if str(exc.error).lstrip().startswith("<"):
            return ModelUnavailableError(
                f"The server at OLLAMA_HOST is not Ollama: it answered {exc.status_code} with "
                "an HTML page. Fix OLLAMA_HOST."
            )
        if exc.status_code == 404:
            return ModelUnavailableError(f"Model not found: {detail}. Pull it first.")
        if exc.status_code == 429:
            return TransientModelError(f"The model server is busy (429): {detail}")
        failed = f"The model server failed ({exc.status_code}): {detail}"
        # 5xx and a broken stream (-1) may pass; other statuses are bad requests.
        if exc.status_code >= 500 or exc.status_code < 0:
            return TransientModelError(failed)
        return ModelUnavailableError(failed)
    return None


KEEP_ALIVE = "30m"


def build_ollama(context: Context) -> BaseChatModel:
    """ChatOllama for `context`: no thinking, bounded output, bounded time.

    `keep_alive` keeps the model loaded between turns (a reload costs seconds), and
    `num_ctx` is set explicitly: Ollama's default window can be shorter than a transcript.
    The transports hold each call to its deadline and output cap (`BoundedTransport`).
    """
    ollama_client_module()
    from langchain_ollama import ChatOllama

    return ChatOllama(
        model=context.model,
        base_url=normalize_host(context.ollama_host),
        reasoning=False,
        temperature=context.temperature,
        num_predict=context.max_tokens,
        num_ctx=context.n_ctx,
        keep_alive=KEEP_ALIVE,
        client_kwargs={"timeout": context.request_timeout_s},
        sync_client_kwargs={"transport": BoundedTransport()},
        async_client_kwargs={"transport": AsyncBoundedTransport()},
    )


def preflight_ollama(context: Context) -> None:
    """Check that Ollama runs and has the model.

    Raises:
        ModelUnavailableError: with a one-line message that says how to fix it.
    """
    host = normalize_host(context.ollama_host)
    ollama = ollama_client_module()
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
            f"Ollama at {host} answered with an error ({exc.status_code}): "
            f"{server_detail(exc.error)}. Is OLLAMA_HOST an Ollama server?"
        ) from None
    except ValueError:  # a 200 that is not Ollama's JSON: another kind of server
        raise ModelUnavailableError(
            f"The server at {host} is not Ollama (its answer is not Ollama's JSON); "
            "fix OLLAMA_HOST."
        ) from None
    names = {m.model for m in listed.models if m.model}
    # Ollama lists "qwen2.5:latest" for a model pulled as "qwen2.5".
    if context.model not in names and f"{context.model}:latest" not in names:
        raise ModelUnavailableError(
            f"Model {context.model!r} is not pulled on {host}. Run `ollama pull {context.model}`."
        )


def ollama_digest(context: Context) -> str | None:
    """The digest of the model on the Ollama server, or None if the server cannot say."""
    ollama = ollama_client_module()
    client = ollama.Client(host=normalize_host(context.ollama_host), timeout=5.0)
    try:
        listed = client.list()
    except CONNECTION_ERRORS:
        return None
    except ollama.ResponseError:
        return None
    for entry in listed.models:
        if entry.model in (context.model, f"{context.model}:latest"):
            return str(entry.digest) if entry.digest else None
    return None


class OllamaBackend:
    """A model served by Ollama (the default backend)."""

    def build(self, context: Context) -> BaseChatModel:
        """ChatOllama for `context`."""
        return build_ollama(context)

    def preflight(self, context: Context) -> None:
        """Ollama runs and has the model."""
        preflight_ollama(context)

    def server_error(self, exc: BaseException) -> ModelUnavailableError | None:
        """The one-line error for an Ollama client failure."""
        return server_error(exc)

    def describe(self, context: Context) -> str:
        """`ollama:<model>`."""
        return f"ollama:{context.model}"

    def fingerprint(self, context: Context) -> Fingerprint:
        """The model's name and the digest Ollama reports for it."""
        return {"backend": "ollama", "model": context.model, "digest": ollama_digest(context)}


BACKEND: Backend = OllamaBackend()
