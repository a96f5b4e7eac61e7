"""The screen: every lexicon and the learned classifier, on every message; they combine here.

A message in any language is screened with all three lexicons (`lexicon/<lang>.yaml`): a
client may switch languages, and a forced session language must never blind the screen.
Only patterns whose required literals occur in the text run (`prefilter.py`), which keeps
a 100k-character message under a second while reading all three languages.

For each crisis or concern hit, the sentence around it decides:
- whose risk it is: the nearest person reference before the hit, or inside it
  ("my brother says he wants to die" is about someone else; "kill myself" is one's own);
- when: a span the lexicon marks as a resolved past event is removed before matching and
  counts as `concern` with timeframe `past`, never as a crisis.

The classifier (`classifier.py`) then reads the message without those past spans; past its
language's threshold, the result is `crisis` with the reason `classifier(<probability>)`,
added to the lexicon's categories. It only raises the level, never lowers it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from emostage.errors import InputError
from emostage.languages import LANGUAGES
from emostage.safety.assessment import RiskAssessment, RiskLevel, RiskSubject
from emostage.safety.classifier import screen_model
from emostage.safety.normalize import normalize_for_screen
from emostage.safety.prefilter import LiteralSearch, Pattern, PatternSet, required_literals

MAX_HITS = 32  # hits examined per language and level: enough to decide, bounded on any input
SENTENCE_END = re.compile(r"[.!?。！？\n]")
_SENTENCES = re.compile(r"[^.!?。！？\n]+")
SENTENCE_REACH = 200  # characters looked at before a hit for its person reference
FLAGS = re.IGNORECASE
# Categories where the client is the one at risk whoever is named: the person named near
# "he says he'll kill me" is the aggressor, and intent to harm someone is the client's own.
CLIENT_CATEGORIES = frozenset({"harm_from_others", "harm_to_others"})


@dataclass(frozen=True)
class Lexicon:
    """One language's compiled sections (see the header of `lexicon/en.yaml`)."""

    ignore: PatternSet
    past: PatternSet
    crisis: PatternSet
    concern: PatternSet
    people: list[Pattern]
    literals: LiteralSearch


@dataclass(frozen=True)
class Hit:
    """One match: its level, category and whose risk the sentence says it is."""

    level: RiskLevel
    category: str
    subject: RiskSubject


def screen_risk(text: str) -> RiskAssessment:
    """Screen one message deterministically, with every language's lexicon.

    Args:
        text: The client's message, in any language or a mix of them.

    Returns:
        `crisis` for a current danger, `concern` for a weaker sign or a resolved past
        event, else `none`; the reasons are category names, never client text.

    Raises:
        InputError: `text` is not a string.
    """
    if not isinstance(text, str):
        raise InputError(f"screen_risk takes the message's text, not {type(text).__name__}.")
    hits, past, remainder = _read_lexicons(normalize_for_screen(text))
    lexical = _assessment(hits, past)
    model = screen_model()
    probability = model.probability(remainder)
    if probability < model.threshold(remainder):
        return lexical
    return _with_classifier(lexical, probability, remainder)


def lexicon_risk(text: str) -> RiskAssessment:
    """The lexicon's reading alone, without the classifier (for training and measurement)."""
    hits, past, _ = _read_lexicons(normalize_for_screen(text))
    return _assessment(hits, past)


def classifier_input(text: str) -> str:
    """What the classifier reads of `text`: normalized, without idioms, fiction or resolved past.

    Training reads messages through this function too, so it learns from what it will see.
    """
    return _read_lexicons(normalize_for_screen(text))[2]


def _read_lexicons(normalized: str) -> tuple[list[Hit], bool, str]:
    """Every lexicon's hits, whether a resolved past event was blanked, and what remains."""
    hits: list[Hit] = []
    past = False
    remainder = normalized  # what no lexicon reads as idiom, fiction or a resolved past
    for language in LANGUAGES:
        lexicon = compiled_lexicon(language)
        cleaned = _removed(lexicon, lexicon.ignore, normalized)
        without_past = _removed(lexicon, lexicon.past, cleaned)
        past = past or without_past != cleaned
        remainder = _removed(lexicon, lexicon.past, remainder)
        present = lexicon.literals.present(without_past)
        for level, patterns in (("crisis", lexicon.crisis), ("concern", lexicon.concern)):
            runnable = [pattern for _, pattern in patterns.runnable(present)]
            hits += _hits(level, runnable, lexicon.people, without_past)  # type: ignore[arg-type]
    return hits, past, remainder


def _with_classifier(lexical: RiskAssessment, probability: float, text: str) -> RiskAssessment:
    """Raise the lexicon's reading to crisis on the classifier's word, keeping its reasons.

    When the lexicon found no crisis, whose risk it is comes from the person references
    of the sentence the classifier scores highest, as for a lexicon hit.
    """
    reasons = [*lexical.reasons, f"classifier({probability:.2f})"]
    if lexical.level == "crisis":
        return lexical.model_copy(update={"reasons": reasons})
    people = [person for language in LANGUAGES for person in compiled_lexicon(language).people]
    model = screen_model()
    sentences = list(_SENTENCES.finditer(text))
    end = max(sentences, key=lambda m: model.probability(m.group())).end() if sentences else 0
    return RiskAssessment(level="crisis", reasons=reasons, subject=_subject(people, text, end))


def _removed(lexicon: Lexicon, patterns: PatternSet, text: str) -> str:
    """`text` with every span of `patterns` blanked out, in order."""
    start = 0
    while True:
        for index, pattern in patterns.runnable(lexicon.literals.present(text), start):
            cleaned = pattern.regex.sub(" ", text)
            if cleaned != text:  # blanking can join words into a new literal: look again
                text, start = cleaned, index + 1
                break
        else:
            return text


def _hits(level: RiskLevel, patterns: list[Pattern], people: list[Pattern], text: str) -> list[Hit]:
    found: list[Hit] = []
    for pattern in patterns:
        # Every match counts: "my brother wants to die, and I want to die too" is the
        # client's own risk as well, whatever the first match was about.
        for match in pattern.regex.finditer(text):
            subject: RiskSubject = (
                "self"
                if pattern.category in CLIENT_CATEGORIES
                else _subject(people, text, match.end(), match.start())
            )
            found.append(Hit(level, pattern.category, subject))
            if len(found) == MAX_HITS:
                return found
    return found


def _subject(people: list[Pattern], text: str, end: int, start: int | None = None) -> RiskSubject:
    """Whose risk: the last person reference from the sentence's start to `end`.

    Args:
        people: The person-reference patterns to look for.
        text: The screened text.
        end: Where the hit (or the sentence the classifier chose) ends.
        start: Where the hit starts, if it is one: its sentence is the one it starts in.
    """
    start = end if start is None else start
    reach = max(0, start - SENTENCE_REACH)
    ends = [m.end() for m in SENTENCE_END.finditer(text, reach, start)]
    sentence = text[ends[-1] if ends else reach : end]
    nearest: tuple[int, int, str] | None = None  # (end, length, category)
    for person in people:
        for found in person.regex.finditer(sentence):
            key = (found.end(), found.end() - found.start(), person.category)
            nearest = key if nearest is None or key[:2] > nearest[:2] else nearest
    if nearest is None:
        return "self"  # a statement without a person is the speaker's own, as in 死にたい
    return "other" if nearest[2] == "other" else "self"


def _assessment(hits: list[Hit], past: bool) -> RiskAssessment:
    for level in ("crisis", "concern"):
        chosen = [h for h in hits if h.level == level]
        if chosen:
            subjects = {h.subject for h in chosen}
            return RiskAssessment(
                level=level,
                reasons=list(dict.fromkeys(f"{h.category} (screen)" for h in chosen)),
                subject="self" if "self" in subjects else "other",
            )
    if past:
        return RiskAssessment(level="concern", reasons=["past event (screen)"], timeframe="past")
    return RiskAssessment()


@cache
def compiled_lexicon(language: str) -> Lexicon:
    """The lexicon of `language`, compiled, with each pattern's required literals."""
    text = resources.files("emostage.safety").joinpath("lexicon", f"{language}.yaml")
    data: dict[str, Any] = yaml.safe_load(text.read_text("utf-8"))
    sections = {
        "ignore": PatternSet(_compiled({"": data.get("ignore", [])})),
        "past": PatternSet(_compiled({"": data.get("past", [])})),
        "crisis": PatternSet(_compiled(data["crisis"])),
        "concern": PatternSet(_compiled(data.get("concern", {}))),
    }
    literals = LiteralSearch(frozenset().union(*(s.literals for s in sections.values())))
    return Lexicon(**sections, people=_compiled(data.get("people", {})), literals=literals)


def _compiled(sections: dict[str, list[str]]) -> list[Pattern]:
    return [
        Pattern(re.compile(p, FLAGS), required_literals(p, FLAGS), category)
        for category, patterns in sections.items()
        for p in patterns
    ]
