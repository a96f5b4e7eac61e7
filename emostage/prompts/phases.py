"""Phase taxonomies: which stages a counseling session moves through.

A taxonomy is data (YAML or JSON). Two ship with EmoStage: `ivey` (five interview stages,
the default) and `hill` (Hill's exploration, insight and action). Users may pass a path to
their own file in the same format.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from emostage.errors import InputError, TaxonomyError, first_problem
from emostage.files import read_text
from emostage.languages import Language

BUILTIN_TAXONOMIES = ("ivey", "hill")


class PhaseText(BaseModel):
    """How one phase is described to the model, in one language."""

    name: str = Field(min_length=1)
    definition: str = Field(min_length=1)
    fits: list[str] = Field(min_length=1, description="Moves that fit this phase.")
    avoid: list[str] = Field(default_factory=list, description="Moves to avoid in this phase.")


class Phase(BaseModel):
    """One phase of a taxonomy, described in one or more languages."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    texts: dict[Language, PhaseText] = Field(min_length=1)

    def text(self, language: Language) -> PhaseText:
        """The description in `language`, else English, else any one given."""
        return self.texts.get(language) or self.texts.get("en") or next(iter(self.texts.values()))


class Taxonomy(BaseModel):
    """An ordered list of counseling phases."""

    name: str = Field(min_length=1)
    description: str = ""
    fallback_phase: str | None = Field(
        default=None, description="Phase assumed when recognition fails; default: the second."
    )
    phases: list[Phase] = Field(min_length=2)

    @model_validator(mode="after")
    def _check_ids(self) -> Taxonomy:
        ids = [p.id for p in self.phases]
        if len(set(ids)) != len(ids):
            raise ValueError(f"phase ids must be unique, got {ids}")
        if self.fallback_phase is None:
            self.fallback_phase = ids[1]
        elif self.fallback_phase not in ids:
            raise ValueError(f"fallback_phase {self.fallback_phase!r} is not one of {ids}")
        return self

    @property
    def ids(self) -> list[str]:
        """Phase ids in session order."""
        return [p.id for p in self.phases]

    def phase(self, phase_id: str) -> Phase:
        """The phase with this id."""
        for phase in self.phases:
            if phase.id == phase_id:
                return phase
        raise KeyError(phase_id)

    @property
    def default_phase(self) -> str:
        """The phase assumed when recognition fails and no earlier phase is known."""
        assert self.fallback_phase is not None  # set by the validator
        return self.fallback_phase


def load_taxonomy(name_or_path: str | Path = "ivey") -> Taxonomy:
    """Load a built-in taxonomy by name, or a user taxonomy from a YAML or JSON file.

    Raises:
        TaxonomyError: the file is missing, unreadable or invalid.
    """
    key = str(name_or_path)
    if key in BUILTIN_TAXONOMIES:
        return _builtin(key)
    return _from_file(Path(key))


@cache
def _builtin(name: str) -> Taxonomy:
    text = resources.files("emostage.taxonomies").joinpath(f"{name}.yaml").read_text("utf-8")
    return Taxonomy.model_validate(yaml.safe_load(text))


def _from_file(path: Path) -> Taxonomy:
    try:
        text = read_text(path, what="taxonomy")
    except InputError as exc:
        raise TaxonomyError(
            f"{exc} Give a YAML/JSON file or one of: {', '.join(BUILTIN_TAXONOMIES)}."
        ) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise TaxonomyError(
            f"Taxonomy {str(path)!r} is not valid YAML/JSON: {exc}".splitlines()[0]
        ) from None
    try:
        return Taxonomy.model_validate(data)
    except ValidationError as exc:
        raise TaxonomyError(f"Taxonomy {str(path)!r} is invalid {first_problem(exc)}.") from None
