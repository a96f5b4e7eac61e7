"""Runtime settings for one turn: the graph's `context_schema`.

Each field can be set in code, by the CLI, or from the environment variable named in its
metadata. An explicit non-default value always wins over the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from emostage.errors import ConfigError

Backend = Literal["ollama", "scripted"]
Mode = Literal["emostage", "baseline"]
BACKENDS: tuple[Backend, ...] = ("ollama", "scripted")
MODES: tuple[Mode, ...] = ("emostage", "baseline")
DEFAULT_MODEL = "qwen2.5:7b"
DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"


@dataclass(kw_only=True)
class Context:
    """Settings that shape one EmoStage turn."""

    backend: Backend = field(
        default="ollama",
        metadata={
            "description": "Model backend: 'ollama', or 'scripted' (tests and offline demos only).",
            "env": "EMOSTAGE_BACKEND",
        },
    )
    model: str = field(
        default=DEFAULT_MODEL,
        metadata={"description": "Model name on the backend.", "env": "EMOSTAGE_MODEL"},
    )
    ollama_host: str = field(
        default=DEFAULT_OLLAMA_HOST,
        metadata={"description": "Base URL of the Ollama server.", "env": "OLLAMA_HOST"},
    )
    request_timeout_s: float = field(
        default=120.0,
        metadata={
            "description": "HTTP timeout of one model call, seconds.",
            "env": "EMOSTAGE_TIMEOUT",
        },
    )
    temperature: float = field(
        default=0.7,
        metadata={
            "description": "Sampling temperature of the drafted reply.",
            "env": "EMOSTAGE_TEMPERATURE",
        },
    )
    language: str | None = field(
        default=None,
        metadata={
            "description": "Force 'ja', 'zh' or 'en'; detected from the client when unset.",
            "env": "EMOSTAGE_LANGUAGE",
        },
    )
    mode: Mode = field(
        default="emostage",
        metadata={
            "description": "'emostage' (full pipeline) or 'baseline' (one plain call).",
            "env": "EMOSTAGE_MODE",
        },
    )
    use_perspective: bool = field(
        default=True,
        metadata={"description": "Ablation switch: run perspective-taking."},
    )
    use_phase: bool = field(
        default=True,
        metadata={"description": "Ablation switch: run phase recognition and phase strategies."},
    )
    opening_turns: int = field(
        default=2,
        metadata={"description": "Opening turns always kept when a long dialogue is windowed."},
    )
    recent_turns: int = field(
        default=20,
        metadata={"description": "Most recent turns kept when a long dialogue is windowed."},
    )
    max_turn_chars: int = field(
        default=2000,
        metadata={"description": "Longer turns are shortened in the middle before prompting."},
    )
    structured_retries: int = field(
        default=1,
        metadata={"description": "Retries of an unparseable analysis answer before falling back."},
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            env_name = f.metadata.get("env")
            if (
                env_name
                and getattr(self, f.name) == f.default
                and (raw := os.environ.get(env_name))
            ):
                setattr(self, f.name, _coerce(raw, f.type, env_name))
        self.validate()

    def validate(self) -> None:
        """Raise `ConfigError` for a value that cannot work."""
        if self.backend not in BACKENDS:
            raise ConfigError(
                f"Unknown backend {self.backend!r}; use one of: {', '.join(BACKENDS)}."
            )
        if self.mode not in MODES:
            raise ConfigError(f"Unknown mode {self.mode!r}; use one of: {', '.join(MODES)}.")
        if self.language is not None and self.language not in ("ja", "zh", "en"):
            raise ConfigError(f"Unknown language {self.language!r}; use ja, zh or en.")
        if self.opening_turns < 0 or self.recent_turns < 1 or self.max_turn_chars < 100:
            raise ConfigError(
                "Window settings need opening_turns >= 0, recent_turns >= 1, max_turn_chars >= 100."
            )
        if self.request_timeout_s <= 0:
            raise ConfigError("request_timeout_s must be positive.")


def _coerce(raw: str, annotation: object, env_name: str) -> object:
    """Convert an environment string to the field's type (annotations are strings here)."""
    kind = str(annotation)
    try:
        if kind.startswith("float"):
            return float(raw)
        if kind.startswith("int"):
            return int(raw)
    except ValueError:
        raise ConfigError(f"{env_name}={raw!r} is not a number.") from None
    return raw


def resolve_context(value: Context | Mapping[str, Any] | None) -> Context:
    """The turn's settings, whether given as a `Context`, a mapping (Studio) or not at all."""
    if isinstance(value, Context):
        return value
    return Context(**dict(value or {}))
