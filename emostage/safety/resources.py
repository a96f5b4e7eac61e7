"""Crisis resources by locale, each table with the official source of its numbers.

A locale that has no table never silently gets another country's numbers: the language's
default table is used, and the caller is told, in a warning and in the turn's diagnostics.
"""

from __future__ import annotations

import warnings
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from emostage.errors import ConfigError, InputError, first_problem
from emostage.files import read_text


class CrisisResourceWarning(UserWarning):
    """The requested locale has no crisis resources; another table is shown."""


class Resource(BaseModel):
    """A place to turn to in a crisis."""

    name: str = Field(min_length=1)
    contact: str = Field(min_length=1)


class LocaleTable(BaseModel):
    """The resources of one locale, and where their numbers come from."""

    country: str = ""
    source: str = Field(default="", description="Official source of the numbers.")
    resources: list[Resource] = Field(min_length=1)


class ResourceFile(BaseModel):
    """A resources file: locale tables, and each language's default locale."""

    defaults: dict[str, str] = Field(default_factory=dict)
    locales: dict[str, LocaleTable] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _plain_lists(cls, data: Any) -> Any:
        """Also accept the short form `{locale or language: [resources]}`."""
        if isinstance(data, dict) and "locales" not in data:
            return {"locales": {key: {"resources": items} for key, items in data.items()}}
        return data


class ResourceTable(BaseModel):
    """The resources chosen for a turn, the locale they belong to, and any warning."""

    locale: str
    resources: list[Resource]
    warning: str | None = None


def crisis_resources(
    language: str, locale: str | None = None, path: str | None = None
) -> ResourceTable:
    """The crisis resources for `locale` (e.g. `en-GB`), else the language's default.

    Raises:
        ConfigError: the file is unreadable or invalid, or has no table for the language.
    """
    table = _resource_file(path)
    locales = {_key(name): name for name in table.locales}
    if locale and (found := locales.get(_key(locale)) or table.defaults.get(_key(locale))):
        return ResourceTable(locale=found, resources=table.locales[found].resources)
    default = table.defaults.get(language) or locales.get(_key(language))
    if default is None or default not in table.locales:
        raise ConfigError(
            f"No crisis resources for language {language!r}; add a table for it to the file."
        )
    warning = None
    if locale:
        country = table.locales[default].country or default
        warning = (
            f"No crisis resources for locale {locale!r}: showing the {language} default, "
            f"{default} ({country}). Add a table for {locale} with official numbers."
        )
        warnings.warn(warning, CrisisResourceWarning, stacklevel=2)
    return ResourceTable(
        locale=default, resources=table.locales[default].resources, warning=warning
    )


def check_locale(locale: str | None, path: str | None = None) -> None:
    """At setup: warn now if `locale` has no table, not first at a crisis turn.

    Raises:
        ConfigError: the resources file is unreadable or invalid.
    """
    table = _resource_file(path)
    known = {_key(name) for name in table.locales} | {_key(lang) for lang in table.defaults}
    if locale and _key(locale) not in known:
        warnings.warn(
            f"No crisis resources for locale {locale!r}: crisis replies will show the default "
            f"table of the client's language ({', '.join(sorted(table.defaults.values()))}). "
            f"Add a table for {locale} with official numbers.",
            CrisisResourceWarning,
            stacklevel=3,
        )


def _key(locale: str) -> str:
    """`en_GB.UTF-8`, `en-gb` and `en-GB` are one locale."""
    return locale.split(".")[0].replace("_", "-").casefold()


@cache
def _resource_file(path: str | None) -> ResourceFile:
    try:
        if path is None:
            text = resources.files(__package__).joinpath("resources.yaml").read_text("utf-8")
        else:
            text = read_text(path, what="crisis resources")
        data: Any = yaml.safe_load(text)
        return ResourceFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"Cannot use crisis resources {path!r}: {first_problem(exc)}") from None
    except (InputError, yaml.YAMLError, RecursionError) as exc:
        reason = str(exc).splitlines()[0]
        raise ConfigError(f"Cannot use crisis resources {path!r}: {reason}") from None
