"""Reading dialogues, language detection and windowing."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from emostage.conversation import spoken_turns
from emostage.errors import InputError
from emostage.files import parse_json, read_text
from emostage.languages import Language
from emostage.state import Turn, merge_turns

_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def parse_dialogue(data: Any) -> list[Turn]:
    """Turns from a parsed JSON document, in any accepted format.

    Accepted: a list of `{role, content}` or of chat messages; `{"dialogue": [...]}` or
    `{"messages": [...]}` with that list; and the KokoroChat format, whose items carry
    `utterance` (Japanese) or `content` (translations). Roles are mapped in
    `emostage.conversation`.

    Raises:
        InputError: the document has none of these shapes, or no turns.
    """
    items = data.get("dialogue", data.get("messages")) if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise InputError(
            'Unknown dialogue format: expected a list of turns, {"dialogue": [...]} or '
            '{"messages": [...]}.'
        )
    turns = [Turn(role=role, content=text) for role, text in spoken_turns(items)]
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
