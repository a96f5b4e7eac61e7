"""Text normalization before screening: one spelling for every way of writing the same words.

Invisible characters and spacing must not hide a statement from the screen: `kill\u200bmyself`,
`死に\u00adたい` and `不 想 活 了` read, to a person, as the plain words.
"""

from __future__ import annotations

import re
import unicodedata

# Zero-width and joining characters, soft hyphens, bidi controls, variation selectors,
# fillers and tag characters: none of them changes what a person reads.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
)
_CJK = "\u3005\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
# Spaces between two CJK characters. Not line breaks, nor punctuation: they end sentences,
# and the screen reads a hit's sentence to tell whose risk it is.
_CJK_GAP = re.compile(f"(?<=[{_CJK}])[^\\S\\n]+(?=[{_CJK}])")


def normalize_for_screen(text: str) -> str:
    """NFKC, casefolded, without invisible characters, and with CJK characters rejoined."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    return _CJK_GAP.sub("", text).casefold()
