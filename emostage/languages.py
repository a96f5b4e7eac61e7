"""The languages EmoStage writes in: the one list every module reads."""

from __future__ import annotations

from typing import Literal

Language = Literal["ja", "zh", "en"]
LANGUAGES: tuple[Language, ...] = ("ja", "zh", "en")
