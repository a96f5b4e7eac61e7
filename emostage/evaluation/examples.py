"""Evaluation examples: each counselor turn of a session, with the turns before it.

Built the way the KokoroChat authors build theirs: consecutive messages of a speaker are
merged into one turn, and a counselor turn is the reference reply to everything before it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from emostage.conversation import Turn, parse_dialogue
from emostage.errors import InputError
from emostage.files import parse_json, read_text
from emostage.languages import Language, detect_language

Third = Literal["early", "middle", "late"]
THIRDS: tuple[Third, ...] = ("early", "middle", "late")


class Example(BaseModel):
    """One reply to write: the session so far, and what the human counselor said."""

    id: str
    dialogue_id: str
    language: Language
    context: list[Turn] = Field(min_length=1)
    reference: str
    position: float | None = Field(
        default=None, description="Where the reply falls in the session: 0 start, 1 end."
    )
    topic: str | None = None
    session_score: float | None = Field(
        default=None, description="The client's 0-100 rating of the whole session."
    )

    @property
    def third(self) -> Third | None:
        """Early, middle or late third of the session."""
        return None if self.position is None else third_of(self.position)


def third_of(position: float) -> Third:
    """The third of the session a relative position (0-1) falls in."""
    return THIRDS[min(int(position * 3), 2)]


class Dataset(BaseModel):
    """What was read: the examples, and how many files were skipped as not dialogues."""

    examples: list[Example]
    dialogues: int
    skipped_files: list[str]


def load_examples(
    source: str | Path,
    language: Language,
    n: int,
    seed: int,
    max_dialogues: int | None = None,
) -> Dataset:
    """Read `source` and sample up to `n` examples per dialogue, stratified by thirds.

    Args:
        source: A folder of KokoroChat JSON files (searched recursively) and/or generic
            JSONL files, or one such file.
        language: Keep only dialogues and lines in this language.
        n: Examples per dialogue (generic JSONL lines are examples already; all are kept).
        seed: The same seed always draws the same examples.
        max_dialogues: Draw this many of the language's dialogues (with `seed`); default all.

    Raises:
        InputError: nothing usable at `source`.
    """
    path = Path(source)
    if not path.exists():
        raise InputError(f"No data at {str(path)!r}: give a folder of dialogues or a JSONL file.")
    files = sorted(path.rglob("*.json*")) if path.is_dir() else [path]
    examples: list[Example] = []
    found: list[tuple[str, Mapping[str, Any], list[Turn]]] = []
    skipped = []
    for file in files:
        if file.suffix == ".jsonl":
            examples += [e for e in _jsonl_examples(file) if e.language == language]
            continue
        if file.suffix != ".json":
            continue
        document = parse_json(read_text(file), str(file))
        if not (isinstance(document, Mapping) and isinstance(document.get("dialogue"), list)):
            skipped.append(str(file))
            continue
        turns = parse_dialogue(document)
        if detect_language(turns) == language:
            found.append((file.stem, document, turns))
    if max_dialogues is not None and max_dialogues < len(found):
        found = sorted(random.Random(seed).sample(found, max_dialogues), key=lambda d: d[0])
    for dialogue_id, document, turns in found:
        examples += sample_examples(dialogue_id, document, turns, language, n, seed)
    if not examples:
        raise InputError(
            f"No {language} examples found at {str(path)!r}. Expected KokoroChat JSON "
            "dialogues or JSONL lines {id, language, context, reference}."
        )
    return Dataset(examples=examples, dialogues=len(found), skipped_files=skipped)


def sample_examples(
    dialogue_id: str,
    document: Mapping[str, Any],
    turns: list[Turn],
    language: Language,
    n: int,
    seed: int,
) -> list[Example]:
    """Up to `n` counselor turns of one dialogue, spread over its thirds, as examples."""
    last = max(len(turns) - 1, 1)
    position = {i: round(i / last, 4) for i in range(len(turns))}
    by_third: dict[Third, list[int]] = {third: [] for third in THIRDS}
    for index, turn in enumerate(turns):
        if turn.role == "counselor" and index > 0:
            by_third[third_of(position[index])].append(index)
    rng = random.Random(f"{seed}:{dialogue_id}")
    for pool in by_third.values():
        rng.shuffle(pool)
    chosen: list[int] = []
    # Round-robin over the thirds, so a short third gives its share to the others.
    while len(chosen) < n and any(by_third.values()):
        for pool in by_third.values():
            if pool and len(chosen) < n:
                chosen.append(pool.pop())
    topic, score = _metadata(document)
    return [
        Example(
            id=f"{dialogue_id}#{index}",
            dialogue_id=dialogue_id,
            language=language,
            context=turns[:index],
            reference=turns[index].content,
            position=position[index],
            topic=topic,
            session_score=score,
        )
        for index in sorted(chosen)
    ]


def _metadata(document: Mapping[str, Any]) -> tuple[str | None, float | None]:
    """Topic and client score from the Japanese or the translated KokoroChat layout."""
    topic = document.get("topic") or {}
    review = document.get("review_by_client_en") or document.get("review_by_client") or {}
    score = review.get("score") if isinstance(review, Mapping) else None
    main = topic.get("main_en") or topic.get("main_jp") if isinstance(topic, Mapping) else None
    return main, float(score) if isinstance(score, int | float) else None


def _jsonl_examples(file: Path) -> Iterator[Example]:
    """Generic lines `{id, language, context: [{role, content}], reference}`."""
    for number, line in enumerate(read_text(file).splitlines(), 1):
        if not line.strip():
            continue
        where = f"{file}:{number}"
        data = parse_json(line, where)
        try:
            context = parse_dialogue(data.get("context") if isinstance(data, Mapping) else None)
            yield Example.model_validate(
                {"dialogue_id": data["id"], **data, "id": str(data["id"]), "context": context}
            )
        except (InputError, ValidationError, KeyError, TypeError) as exc:
            reason = str(exc).splitlines()[0]
            raise InputError(
                f"{where}: expected {{id, language, context, reference}} ({reason})."
            ) from None
