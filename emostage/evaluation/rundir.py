"""A run folder: its files, and `config.json`, the record needed to reproduce the run."""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from emostage.errors import InputError, first_problem
from emostage.evaluation.examples import Example
from emostage.evaluation.records import JsonlLog
from emostage.files import read_text
from emostage.languages import Language
from emostage.prompts.phases import Taxonomy

# Settings that, once a run has started, must stay the same for a resumed run to be one run.
IDENTITY = (
    "data",
    "languages",
    "n",
    "max_dialogues",
    "seed",
    "data_sha256",
    "taxonomy_sha256",
    "files_sha256",
    "generator",
)


class RunConfig(BaseModel):
    """Everything needed to reproduce a run (written to `RUNDIR/config.json`)."""

    emostage_version: str
    created: str
    python: str
    data: str
    languages: list[Language]
    n: int
    max_dialogues: int | None
    seed: int
    examples: int
    data_sha256: str
    taxonomy: str
    taxonomy_sha256: str
    files_sha256: dict[str, str]
    systems: list[str]
    generator: dict[str, Any]
    judge: dict[str, Any] | None = None


@dataclass(frozen=True)
class RunDir:
    """The files of one run; every step appends to its own log."""

    path: Path

    @property
    def config_file(self) -> Path:
        """`config.json`."""
        return self.path / "config.json"

    @property
    def examples(self) -> JsonlLog:
        """The sampled examples, written once."""
        return JsonlLog(self.path / "examples.jsonl")

    @property
    def generations(self) -> JsonlLog:
        """One reply per (example, system)."""
        return JsonlLog(self.path / "generations.jsonl", ("example", "system", "reply"))

    @property
    def scores(self) -> JsonlLog:
        """Judge scores per (example, system)."""
        return JsonlLog(self.path / "scores.jsonl", ("example", "system"))

    @property
    def pairs(self) -> JsonlLog:
        """Judge preferences per (example, system, order) against the baseline."""
        return JsonlLog(self.path / "pairs.jsonl", ("example", "system", "order"))

    @property
    def human(self) -> JsonlLog:
        """Imported human ratings."""
        return JsonlLog(self.path / "human.jsonl", ("example", "system", "rater"))

    def load_config(self) -> RunConfig:
        """Read `config.json`.

        Raises:
            InputError: the folder holds no run.
        """
        if not self.config_file.exists():
            raise InputError(f"{self.path} holds no run yet: start one with `emostage eval run`.")
        try:
            return RunConfig.model_validate_json(read_text(self.config_file))
        except ValidationError as exc:
            raise InputError(
                f"{self.config_file} is damaged {first_problem(exc)}; restore it, or use a "
                "new --out."
            ) from None

    def save_config(self, config: RunConfig) -> None:
        """Write `config.json` atomically.

        Raises:
            InputError: the folder cannot be created or written.
        """
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            partial = self.config_file.with_suffix(".json.partial")
            partial.write_text(config.model_dump_json(indent=2), "utf-8")
            partial.replace(self.config_file)
        except OSError as exc:
            raise InputError(
                f"Cannot write the run folder {self.path}: {exc.strerror or exc}. "
                "Give --out a folder you can write to."
            ) from None

    def load_generations(
        self, examples: Mapping[str, Example]
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """The replies, by (example id, system); `examples` are the run's, by id.

        Raises:
            InputError: a reply is to an example that `examples.jsonl` does not hold.
        """
        replies = {(r["example"], r["system"]): r for r in self.generations.read()}
        if unknown := sorted({example for example, _ in replies} - examples.keys()):
            raise InputError(
                f"{self.examples.path} has no example {unknown[0]!r}, which "
                f"{self.generations.path.name} has replies to: the run folder is damaged. "
                "Start a new run with another --out."
            )
        return replies

    def load_examples(self) -> list[Example]:
        """The run's examples, in order.

        Raises:
            InputError: naming the line of an example that is not one.
        """
        examples = []
        for number, record in enumerate(self.examples.read(), 1):
            try:
                examples.append(Example.model_validate(record))
            except ValidationError as exc:
                raise InputError(
                    f"{self.examples.path} record {number} is not an example "
                    f"{first_problem(exc)}; use a new --out."
                ) from None
        return examples


def new_config(
    *,
    data: str,
    languages: list[Language],
    n: int,
    seed: int,
    max_dialogues: int | None,
    examples: list[Example],
    taxonomy: Taxonomy,
    taxonomy_name: str,
    systems: list[str],
    generator: dict[str, Any],
) -> RunConfig:
    """A run's record: versions, data and file hashes, sampling and model identity."""
    sampled = "\n".join(e.model_dump_json() for e in examples)
    return RunConfig(
        emostage_version=metadata.version("emostage"),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        python=platform.python_version(),
        data=data,
        languages=languages,
        n=n,
        max_dialogues=max_dialogues,
        seed=seed,
        examples=len(examples),
        data_sha256=_sha256(sampled.encode()),
        taxonomy=taxonomy_name,
        taxonomy_sha256=_sha256(taxonomy.model_dump_json().encode()),
        files_sha256=_package_file_hashes(languages),
        systems=systems,
        generator=generator,
    )


def check_same_run(saved: RunConfig, wanted: RunConfig) -> None:
    """Raise `InputError` if `wanted` would change what the saved run measures."""
    for name in IDENTITY:
        before, after = getattr(saved, name), getattr(wanted, name)
        if before != after:
            raise InputError(
                f"This run folder was started with different settings ({name}: "
                f"{json.dumps(before, default=str)} now {json.dumps(after, default=str)}). "
                "Resume with the same settings, or use a new --out."
            )


def _package_file_hashes(languages: list[Language]) -> dict[str, str]:
    """Hashes of the prompt and safety files a run depends on."""
    package = resources.files("emostage")
    names = ["safety/resources.yaml"]
    for lang in languages:
        names += [f"prompts/{lang}/prompts.yaml", f"prompts/{lang}/judge.yaml"]
        names += [f"safety/lexicon/{lang}.yaml"]
    return {name: _sha256(package.joinpath(name).read_bytes()) for name in names}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
