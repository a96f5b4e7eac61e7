"""How a `Context` field is declared, read from the environment, and checked.

A field with an environment variable takes it only when the field is not given: an
explicit argument or CLI flag always wins, even one equal to the default.
"""

from __future__ import annotations

import math
import os
import types
import typing
from dataclasses import Field, field, fields
from functools import partial
from typing import Any, Literal, TypeVar

from emostage.errors import ConfigError

T = TypeVar("T")


def setting(default: T, description: str, env: str | None = None) -> T:
    """A `Context` field with a description and, optionally, an environment fallback."""
    metadata = {"description": description} | ({"env": env} if env else {})
    if env is None:
        return field(default=default, metadata=metadata)
    from_environment: T = field(default_factory=partial(from_env, env, default), metadata=metadata)
    return from_environment


def from_env(name: str, default: Any) -> Any:
    """The value of environment variable `name`, of `default`'s type; `default` if unset.

    Raises:
        ConfigError: the value is not of that type.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if isinstance(default, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}={raw!r} is not a yes/no value (use 1 or 0).")
    if isinstance(default, int | float):
        try:
            number = type(default)(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a number.") from None
        if not math.isfinite(number):
            raise ConfigError(f"{name}={raw!r} is not a finite number.")
        return number
    return raw


def check_types(settings: object) -> None:
    """Raise `ConfigError` for a field whose value is not of its declared type.

    Raises:
        ConfigError: naming the field, the type it needs and what it got.
    """
    hints = typing.get_type_hints(type(settings))
    for each in fields(settings):  # type: ignore[arg-type]
        value = getattr(settings, each.name)
        if not _matches(value, hints[each.name]):
            raise ConfigError(_wrong_type(each, hints[each.name], value))
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{each.name} must be a finite number, not {value!r}.")


def _matches(value: object, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return value in typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, option) for option in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _wrong_type(each: Field[Any], hint: Any, value: object) -> str:
    if hasattr(value, "invoke") and each.name in ("model", "analysis_model", "safety_model"):
        return (
            f"{each.name} takes a model name, but got a {type(value).__name__} object. "
            "Pass a chat model object as the first argument: EmoStage(chat_model) or "
            "build_graph(chat_model)."
        )
    if typing.get_origin(hint) is Literal:
        choices = ", ".join(map(str, typing.get_args(hint)))
        return f"Unknown {each.name} {value!r:.60}; use one of: {choices}."
    wanted = " or ".join(
        getattr(option, "__name__", str(option)).replace("NoneType", "None")
        for option in (typing.get_args(hint) or (hint,))
    )
    shown = repr(value) if len(repr(value)) <= 60 else type(value).__name__
    return f"{each.name} must be {wanted}, not {shown}."
