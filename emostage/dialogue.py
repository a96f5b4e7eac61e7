"""Reading dialogues, language detection and windowing."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from emostage.errors import InputError
from emostage.files import parse_json, read_text
from emostage.languages import Language
from emostage.state import Turn, merge_turns

_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def parse_dialogue(data: Any) -> list[Turn]:
    """Turns from a parsed JSON document, in any accepted format.

    Accepted: a list of `{role, content}`; `{"dialogue": [...]}` with that list; and the
    KokoroChat format, whose items carry `utterance` (Japanese) or `content` (translations).

    Raises:
        InputError: the document has none of these shapes, or no turns.
    """
    items = data.get("dialogue") if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise InputError(
            'Unknown dialogue format: expected a list of turns or {"dialogue": [...]}.'
        )
    turns: list[Turn] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise InputError(f"Turn {index} is not an object with 'role' and 'content'.")
        text = item.get("content", item.get("utterance"))
        if isinstance(text, str) and (bad := _not_unicode(text)) is not None:
            raise InputError(
                f"Turn {index} is not valid Unicode text (a lone surrogate at character "
                f"{bad}); it was not changed or sent. Decode the source text correctly."
            )
        try:
            turns.append(Turn(role=item.get("role"), content=text))
        except ValidationError:
            raise InputError(
                f"Turn {index} needs 'role' (client or counselor) "
                "and its text in 'content' or 'utterance'."
            ) from None
    merged = merge_turns(turns)
    if not merged:
        raise InputError("The dialogue is empty: give at least one client turn.")
    return merged


def load_dialogue(path: str | Path) -> list[Turn]:
    """Read a dialogue file (see `parse_dialogue` for the formats).

    Raises:
        InputError: the file is missing, unreadable, not a regular file, too large, not
            UTF-8 JSON or not a dialogue.
    """
    return parse_dialogue(parse_json(read_text(path), repr(str(path))))


def _not_unicode(text: str) -> int | None:
    """Where `text` holds a lone surrogate (no model can take it), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def require_client_last(turns: Sequence[Turn]) -> None:
    """Raise `InputError` unless the dialogue ends with the client's turn."""
    if not turns:
        raise InputError("The dialogue is empty: give at least one client turn.")
    if turns[-1].role != "client":
        raise InputError("The dialogue must end with a client turn: the counselor speaks next.")


def detect_language(turns: Sequence[Turn]) -> Language:
    """Guess ja, zh or en from the client's text: kana means Japanese, Han without kana Chinese."""
    text = "".join(t.content for t in turns if t.role == "client") or "".join(
        t.content for t in turns
    )
    kana, han, latin = (len(p.findall(text)) for p in (_KANA, _HAN, _LATIN))
    # Japanese prose is rarely under a tenth kana; Chinese has none but for stray quotes.
    if kana and kana * 10 >= han:
        return "ja"
    if han and han * 4 >= latin:
        return "zh"
    return "en"


def window(turns: Sequence[Turn], opening: int, recent: int) -> tuple[list[Turn], int]:
    """Keep the opening and the most recent turns of a long dialogue.

    Returns:
        The kept turns and how many turns were left out between them.
    """
    if len(turns) <= opening + recent:
        return list(turns), 0
    return [*turns[:opening], *turns[-recent:]], len(turns) - opening - recent


def shorten(text: str, limit: int) -> str:
    """Cut the middle out of an over-long message, keeping its start and end."""
    if len(text) <= limit:
        return text
    half = (limit - 3) // 2
    return f"{text[:half]} … {text[-half:]}"
