"""Model backends. Each module here implements `Backend` once, as its `BACKEND` object.

| backend    | module       | the model                                          |
|------------|--------------|----------------------------------------------------|
| `ollama`   | `ollama`     | ChatOllama on an Ollama server (the default)       |
| `llamacpp` | `llamacpp`   | a GGUF in this process (llama-cpp-python)          |
| `openai`   | `openai`     | any OpenAI-compatible server                       |
| `scripted` | `scripted`   | canned answers, for tests and offline notebooks    |

`auto` is not a backend: `emostage.models.source.resolve_backend` turns it into one of these.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from langchain_core.language_models import BaseChatModel

from emostage.context import Context
from emostage.errors import ModelUnavailableError

Fingerprint = dict[str, str | None]


class Backend(Protocol):
    """What EmoStage needs of a backend: build, check, explain failures, name, identify."""

    def build(self, context: Context) -> BaseChatModel:
        """The chat model `context` describes."""

    def preflight(self, context: Context) -> None:
        """Check the model can be served, before any turn runs; raise an `EmoStageError`."""

    def server_error(self, exc: BaseException) -> ModelUnavailableError | None:
        """The one-line error for a failure of this backend's client, else None."""

    def describe(self, context: Context) -> str:
        """A readable `backend:model` name for diagnostics."""

    def fingerprint(self, context: Context) -> Fingerprint:
        """What identifies the model exactly (name, digest), to reproduce a run."""


def get_backend(name: str) -> Backend:
    """The backend called `name` (its module is imported on first use)."""
    module = importlib.import_module(f"emostage.models.backends.{name}")
    backend: Backend = module.BACKEND
    return backend
