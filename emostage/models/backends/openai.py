"""Any OpenAI-compatible server: vLLM, llama.cpp's server, LM Studio, Ollama's /v1."""

from __future__ import annotations

import os
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.runnables import Runnable
from pydantic import BaseModel

from emostage.context import Context
from emostage.errors import ConfigError, ModelUnavailableError, TransientModelError, server_detail
from emostage.models.backends import Backend, Fingerprint
from emostage.models.backends.structured import parse_structured
from emostage.models.backends.transport import AsyncBoundedTransport, BoundedTransport

_NO_KEY = "not-needed"  # local servers ignore the key, but the client requires one
_INSTALL = "Install the openai backend: pip install 'emostage[openai]'."


def _base_url(context: Context) -> str:
    if not context.base_url:
        raise ConfigError("The openai backend needs --base-url (or EMOSTAGE_BASE_URL).")
    return context.base_url.rstrip("/")


def build_openai(context: Context) -> BaseChatModel:
    """A ChatOpenAI pointed at `context.base_url`; the key comes from OPENAI_API_KEY."""
    try:
        # The base class sends the classic `max_tokens`, which compatible servers honour;
        # ChatOpenAI renames it to `max_completion_tokens`, which llama.cpp's ignores.
        from langchain_openai.chat_models.base import BaseChatOpenAI
    except ImportError:
        raise ConfigError(_INSTALL) from None

    class ChatOpenAICompatible(BaseChatOpenAI):
        """An OpenAI-protocol chat model that also speaks llama.cpp's schema-guided JSON.

        Servers differ: vLLM, LM Studio and Ollama accept `response_format` of type
        `json_schema`; llama-cpp-python's server rejects it and takes the schema inside
        `{"type": "json_object", "schema": ...}`. Ask the standard way first.
        """

        def with_structured_output(  # type: ignore[override]
            self, schema: type[BaseModel], *, include_raw: bool = False, **kwargs: Any
        ) -> Runnable[LanguageModelInput, Any]:
            import openai

            standard = super().with_structured_output(
                schema, method="json_schema", include_raw=include_raw
            )
            llama_style = self.bind(
                response_format={"type": "json_object", "schema": schema.model_json_schema()}
            )
            dialect = parse_structured(llama_style, schema, include_raw=include_raw)
            rejected = (
                openai.BadRequestError,
                openai.UnprocessableEntityError,
                openai.InternalServerError,
            )
            return standard.with_fallbacks([dialect], exceptions_to_handle=rejected)

    return ChatOpenAICompatible(
        model=context.model,
        base_url=_base_url(context),
        api_key=os.environ.get("OPENAI_API_KEY") or _NO_KEY,
        temperature=context.temperature,
        max_tokens=context.max_tokens,
        stream_usage=True,  # a streamed reply still reports its token counts
        timeout=context.request_timeout_s,
        max_retries=0,  # EmoStage retries transient faults itself, for every backend
        http_client=httpx.Client(transport=BoundedTransport(), timeout=context.request_timeout_s),
        http_async_client=httpx.AsyncClient(
            transport=AsyncBoundedTransport(), timeout=context.request_timeout_s
        ),
    )


def server_error(exc: BaseException) -> ModelUnavailableError | None:
    """The user-facing error for an OpenAI client failure, or None if it is not one."""
    try:
        import openai
    except ImportError:
        return None
    if isinstance(exc, openai.APITimeoutError):
        return TransientModelError(
            "The model server timed out. Raise request_timeout_s (EMOSTAGE_TIMEOUT)."
        )
    if isinstance(exc, openai.APIConnectionError):
        return TransientModelError(
            "Cannot reach the OpenAI-compatible server; check that it runs and --base-url."
        )
    if isinstance(exc, openai.APIStatusError):
        detail = server_detail(exc.message)
        transient = exc.status_code >= 500 or exc.status_code == 429
        kind = TransientModelError if transient else ModelUnavailableError
        return kind(f"The model server failed ({exc.status_code}): {detail}")
    return None


def preflight_openai(context: Context) -> None:
    """Check that the server answers `/models` and serves the model.

    Raises:
        ModelUnavailableError: with a one-line message that says how to fix it.
        ConfigError: no base URL.
    """
    url = _base_url(context)
    key = os.environ.get("OPENAI_API_KEY") or _NO_KEY
    try:
        response = httpx.get(
            f"{url}/models",
            headers={"Authorization": f"Bearer {key}"},
            timeout=min(context.request_timeout_s, 5.0),
        )
        response.raise_for_status()
        served = {str(m.get("id")) for m in response.json().get("data", [])}
    except httpx.HTTPStatusError as exc:
        raise ModelUnavailableError(
            f"{url}/models answered {exc.response.status_code}; "
            "check --base-url and OPENAI_API_KEY."
        ) from None
    except (httpx.HTTPError, ValueError, AttributeError):
        raise ModelUnavailableError(
            f"Cannot reach an OpenAI-compatible server at {url}; start it or fix --base-url."
        ) from None
    if served and context.model not in served:
        raise ModelUnavailableError(
            f"{url} does not serve {context.model!r}; it serves: {', '.join(sorted(served))}."
        )


class OpenAIBackend:
    """A model on any OpenAI-compatible server (vLLM, LM Studio, llama.cpp's, Ollama's /v1)."""

    def build(self, context: Context) -> BaseChatModel:
        """The OpenAI-protocol chat model for `context`."""
        return build_openai(context)

    def preflight(self, context: Context) -> None:
        """The server answers and serves the model."""
        preflight_openai(context)

    def server_error(self, exc: BaseException) -> ModelUnavailableError | None:
        """The one-line error for an OpenAI client failure."""
        return server_error(exc)

    def describe(self, context: Context) -> str:
        """`openai:<model>`."""
        return f"openai:{context.model}"

    def fingerprint(self, context: Context) -> Fingerprint:
        """The model's name (servers of this protocol report no digest)."""
        return {"backend": "openai", "model": context.model}


BACKEND: Backend = OpenAIBackend()
