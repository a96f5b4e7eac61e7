"""Typed exceptions. Every error EmoStage raises on purpose derives from `EmoStageError`.

Each is also a `ValueError` (bad input or settings) or a `RuntimeError` (the model or the
store failed). LangGraph Server, and so Studio, shows the message of those two kinds and
hides any other as "An internal error occurred"; ours are one line and never quote the
client, so they are shown.
"""

from pydantic import ValidationError


class EmoStageError(Exception):
    """Base class: a problem the user can fix, with a one-line message saying how."""


class InputError(EmoStageError, ValueError):
    """The dialogue or another input is malformed."""


class TaxonomyError(EmoStageError, ValueError):
    """A phase taxonomy file is missing or invalid."""


class ConfigError(EmoStageError, ValueError):
    """A setting (backend, language, mode, ...) has an invalid value."""


class StoreError(EmoStageError, RuntimeError):
    """The session store cannot be used: damaged, foreign, unreadable, full or in use."""


class ModelUnavailableError(EmoStageError, RuntimeError):
    """The model server cannot be reached or does not have the model."""


class OutputCapError(EmoStageError, ValueError):
    """A server sent more than the output cap (it ignored the token limit): a bad answer.

    Retried, then fallen back on, like any other bad answer (`emostage.models.ask`).
    """


class TransientModelError(ModelUnavailableError):
    """A fault that may pass (refused connection, timeout, 5xx, a cut stream): retried."""


def first_problem(exc: ValidationError) -> str:
    """A pydantic error in one line: where the first problem is, what it is, how many."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "top level"
    return f"at {where}: {first['msg']} ({exc.error_count()} problem(s) in all)"


def server_detail(detail: object, limit: int = 160) -> str:
    """A server's error text as one short line: an HTML page is not a message."""
    text = str(detail).strip()
    if text.lstrip().startswith("<"):
        return "an HTML page, not a model server's error"
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"
