"""The languages EmoStage writes in (the one list every module reads), and detecting one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from emostage.conversation import Turn

Language = Literal["ja", "zh", "en"]
LANGUAGES: tuple[Language, ...] = ("ja", "zh", "en")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(turns: Sequence[Turn]) -> Language:
    """Guess ja, zh or en from the client's text: kana means Japanese, Han without kana Chinese."""
    text = "".join(t.content for t in turns if t.role == "client") or "".join(
        t.content for t in turns
    )
    return text_language(text)


def text_language(text: str) -> Language:
    """Guess ja, zh or en from one text (see `detect_language`)."""
    kana, han, latin = (len(p.findall(text)) for p in (_KANA, _HAN, _LATIN))
    # Japanese prose is rarely under a tenth kana; Chinese has none but for stray quotes.
    if kana and kana * 10 >= han:
        return "ja"
    if han and han * 4 >= latin:
        return "zh"
    return "en"
