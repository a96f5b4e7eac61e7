"""Any OpenAI-compatible server: vLLM, llama.cpp's server, LM Studio, Ollama's /v1."""

from __future__ import annotations

import os

import httpx
from langchain_core.language_models import BaseChatModel

from emostage.context import Context
from emostage.errors import ConfigError, ModelUnavailableError

_NO_KEY = "not-needed"  # local servers ignore the key, but the client requires one


def _base_url(context: Context) -> str:
    if not context.base_url:
        raise ConfigError("The openai backend needs --base-url (or EMOSTAGE_BASE_URL).")
    return context.base_url.rstrip("/")


def build_openai(context: Context) -> BaseChatModel:
    """ChatOpenAI pointed at `context.base_url`; the key comes from OPENAI_API_KEY."""
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise ConfigError("Install the openai backend: pip install 'emostage[openai]'.") from None
    return ChatOpenAI(
        model=context.model,
        base_url=_base_url(context),
        api_key=os.environ.get("OPENAI_API_KEY") or _NO_KEY,
        temperature=context.temperature,
        max_completion_tokens=context.max_tokens,
        timeout=context.request_timeout_s,
        max_retries=1,
    )


def preflight_openai(context: Context) -> None:
    """Check that the server answers `/models` and serves the model.

    Raises:
        ModelUnavailableError: with a one-line message that says how to fix it.
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
