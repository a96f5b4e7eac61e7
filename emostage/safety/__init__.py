"""Crisis screening: a deterministic multilingual screen, and crisis resources.

The screen needs no model. It aims at recall: a person who mentions suicide, self-harm or
danger from or to someone must never get a routine reply. It is a safety net, not a
diagnosis; see the README's Safety section for what it does and does not do.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from emostage.errors import ConfigError
from emostage.languages import LANGUAGES

RiskLevel = Literal["none", "concern", "crisis"]
RISK_ORDER: dict[RiskLevel, int] = {"none": 0, "concern": 1, "crisis": 2}


class RiskAssessment(BaseModel):
    """How much danger a message signals, and why (category names, never client text)."""

    level: RiskLevel = "none"
    reasons: list[str] = Field(default_factory=list)

    def raised_by(self, other: RiskAssessment) -> RiskAssessment:
        """Combine upward: the higher level wins, and both keep their reasons."""
        level = max(self.level, other.level, key=RISK_ORDER.__getitem__)
        return RiskAssessment(
            level=level, reasons=list(dict.fromkeys(self.reasons + other.reasons))
        )


class Lexicon(BaseModel):
    """One language's patterns: idioms to ignore, then crisis and concern categories."""

    ignore: list[re.Pattern[str]] = Field(default_factory=list)
    crisis: dict[str, list[re.Pattern[str]]]
    concern: dict[str, list[re.Pattern[str]]] = Field(default_factory=dict)


class Resource(BaseModel):
    """A place to turn to in a crisis."""

    name: str = Field(min_length=1)
    contact: str = Field(min_length=1)


def screen_risk(text: str, language: str | None = None) -> RiskAssessment:
    """Screen one message deterministically.

    Args:
        text: The client's message.
        language: `ja`, `zh` or `en`; when None, every language's patterns apply.
    """
    normalized = unicodedata.normalize("NFKC", text).casefold()
    found: dict[RiskLevel, list[str]] = {"crisis": [], "concern": []}
    for code in (language,) if language else LANGUAGES:
        lexicon = _lexicon(code)
        cleaned = normalized
        for idiom in lexicon.ignore:
            cleaned = idiom.sub(" ", cleaned)
        for level, categories in (("crisis", lexicon.crisis), ("concern", lexicon.concern)):
            for category, patterns in categories.items():
                if any(p.search(cleaned) for p in patterns):
                    found[level].append(f"{category} (screen)")  # type: ignore[index]
    if found["crisis"]:
        return RiskAssessment(level="crisis", reasons=list(dict.fromkeys(found["crisis"])))
    if found["concern"]:
        return RiskAssessment(level="concern", reasons=list(dict.fromkeys(found["concern"])))
    return RiskAssessment()


@cache
def _lexicon(language: str) -> Lexicon:
    text = resources.files(__name__).joinpath("lexicon", f"{language}.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return Lexicon(
        ignore=_compiled(data.get("ignore", [])),
        crisis={k: _compiled(v) for k, v in data["crisis"].items()},
        concern={k: _compiled(v) for k, v in data.get("concern", {}).items()},
    )


def _compiled(patterns: list[str]) -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE) for p in patterns]


def crisis_resources(
    language: str, locale: str | None = None, path: str | None = None
) -> list[Resource]:
    """The crisis resources for a locale (e.g. `en-GB`), else the language.

    Raises:
        ConfigError: the resources file is unreadable or invalid, or has no entry.
    """
    table = _resource_table(path)
    for key in (locale, language, "en"):
        if key and key in table:
            return table[key]
    raise ConfigError(f"No crisis resources for {locale or language!r}; add them to the table.")


@cache
def _resource_table(path: str | None) -> dict[str, list[Resource]]:
    try:
        if path is None:
            text = resources.files(__name__).joinpath("resources.yaml").read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
        data = yaml.safe_load(text)
        return {key: [Resource.model_validate(r) for r in items] for key, items in data.items()}
    except (OSError, yaml.YAMLError, ValidationError, AttributeError, TypeError) as exc:
        reason = str(exc).splitlines()[0]
        raise ConfigError(f"Cannot use crisis resources {path!r}: {reason}") from None
