"""The learned screen: a character n-gram linear classifier of suicide and self-harm risk.

The model is logistic regression on TF-IDF-weighted character 2–4-grams, trained by
`make screen-model` (`training/screen_model.py`) on real Chinese messages (PsyGUARD, MIT) and
on Japanese and English lines written for EmoStage, and shipped as `screen_model.json`: the
n-grams with their IDF and weight, the intercept, and a threshold per language set on dev
data. Scoring needs no library and no network: it is a sparse dot product.

It reads only the message being screened, after the lexicon has blanked idioms, fiction and
resolved past events (`screen.py`), and it says only a probability; `screen.py` decides.
A long message is scored window by window, and its highest window counts, so that one
sentence of risk in a long message is not diluted by the rest.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources

from emostage.languages import Language, text_language

MODEL_FILE = "screen_model.json"
FORMAT = 1
WINDOW = 400  # characters scored at once: about the longest of the messages it learned from
_SPACES = re.compile(r"\s+")
_SENTENCES = re.compile(r"[^.!?。！？\n]*(?:[.!?。！？\n]+|$)")


def char_ngrams(text: str, sizes: tuple[int, int]) -> list[str]:
    """The character n-grams of `text`, whitespace collapsed; training uses this very function.

    Args:
        text: Normalized text (`normalize_for_screen`).
        sizes: The smallest and largest n.
    """
    text = _SPACES.sub(" ", text)
    return [
        text[i : i + n] for n in range(sizes[0], sizes[1] + 1) for i in range(len(text) - n + 1)
    ]


def windows(text: str) -> list[str]:
    """`text` as whole sentences packed into pieces of at most `WINDOW` characters."""
    if len(text) <= WINDOW:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCES.findall(text):
        for start in range(0, len(sentence), WINDOW):
            part = sentence[start : start + WINDOW]
            if len(current) + len(part) > WINDOW and current.strip():
                pieces.append(current)
                current = ""
            current += part
    if current.strip():
        pieces.append(current)
    return pieces or [text[:WINDOW]]


@dataclass(frozen=True)
class ScreenModel:
    """The trained classifier: n-gram weights, intercept and per-language thresholds."""

    sizes: tuple[int, int]
    features: dict[str, tuple[float, float]]  # n-gram -> (idf, weight)
    intercept: float
    thresholds: dict[str, float]  # language -> the probability at which a message is risk
    version: str

    def probability(self, text: str) -> float:
        """The probability that `text` (normalized) signals risk: its highest window's."""
        return max(self._window_probability(piece) for piece in windows(text))

    def threshold(self, text: str) -> float:
        """The threshold for `text`'s language, as `text_language` reads it."""
        language: Language = text_language(text)
        return self.thresholds[language]

    def _window_probability(self, text: str) -> float:
        dot = norm = 0.0
        for gram, count in Counter(char_ngrams(text, self.sizes)).items():
            feature = self.features.get(gram)
            if feature is not None:
                value = (1.0 + math.log(count)) * feature[0]  # sublinear TF times IDF
                dot += value * feature[1]
                norm += value * value
        score = self.intercept + (dot / math.sqrt(norm) if norm else 0.0)
        return 1.0 / (1.0 + math.exp(-score))

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ScreenModel:
        """The model from its JSON form (`training/screen_model.py` writes it)."""
        if data.get("format") != FORMAT:
            raise ValueError(f"screen model format {data.get('format')!r}, expected {FORMAT}")
        features = data["features"]
        thresholds = data["thresholds"]
        sizes = data["ngram_sizes"]
        assert isinstance(features, dict) and isinstance(thresholds, dict)
        assert isinstance(sizes, list)
        return cls(
            sizes=(int(sizes[0]), int(sizes[1])),
            features={gram: (float(v[0]), float(v[1])) for gram, v in features.items()},
            intercept=float(str(data["intercept"])),
            thresholds={str(k): float(v) for k, v in thresholds.items()},
            version=str(data["version"]),
        )


@cache
def screen_model() -> ScreenModel:
    """The shipped model, loaded once per process."""
    text = resources.files("emostage.safety").joinpath(MODEL_FILE).read_text("utf-8")
    return ScreenModel.from_json(json.loads(text))
