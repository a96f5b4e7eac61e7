"""Required literals: a cheap test that tells which patterns cannot match a text.

A message is screened with about 1,400 expressions. Scanning 100k characters once per
expression takes seconds however the expressions are combined, because Python's regular
expression engine pays per position and per branch. But nearly every pattern needs some
fixed text to match (`kill myself` needs " myself"; `(?:想|要)死` needs 死). Checking
those literals with `in` is fast, so only patterns that *can* match are run.

`required_literals(pattern)` derives the literals from the parsed expression: a set of
strings one of which every match, or a lookaround the match depends on, contains. It is
conservative: when it cannot tell, it returns None and the pattern always runs.
`LiteralSearch` finds which of a lexicon's thousands of literals occur in a text in one
Aho-Corasick pass (pyahocorasick), instead of thousands of `in` tests.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as parser  # type: ignore[attr-defined]
from typing import Any

import ahocorasick

Literals = frozenset[str] | None


def required_literals(pattern: str, flags: int = 0) -> Literals:
    """Strings one of which must occur in any text `pattern` can match; None if unknown."""
    return _sequence(parser.parse(pattern, flags), bool(flags & re.IGNORECASE))


def _sequence(items: Any, ignorecase: bool) -> Literals:
    """The most selective requirement among a sequence's literal runs and its parts."""
    candidates: list[frozenset[str]] = []
    run = ""
    for op, arg in items:
        if op is sre.LITERAL:
            char = chr(arg)
            run += char.lower() if ignorecase else char
            continue
        if run:
            candidates.append(frozenset({run}))
            run = ""
        if (found := _item(op, arg, ignorecase)) is not None:
            candidates.append(found)
    if run:
        candidates.append(frozenset({run}))
    if not candidates:
        return None
    return max(candidates, key=lambda c: (min(map(len, c)), -len(c)))


def _item(op: Any, arg: Any, ignorecase: bool) -> Literals:
    if op is sre.SUBPATTERN:
        _group, add_flags, del_flags, body = arg
        if add_flags & re.IGNORECASE:
            ignorecase = True
        if del_flags & re.IGNORECASE:
            ignorecase = False
        return _sequence(body, ignorecase)
    if op is sre.BRANCH:
        branches = [_sequence(b, ignorecase) for b in arg[1]]
        if any(b is None for b in branches):
            return None
        return frozenset().union(*branches)  # type: ignore[arg-type]
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
        low, _high, body = arg
        return _sequence(body, ignorecase) if low >= 1 else None
    if op is sre.ASSERT:  # a positive lookaround: its text must be there too
        _direction, body = arg
        return _sequence(body, ignorecase)
    if op is sre.ATOMIC_GROUP:
        return _sequence(arg, ignorecase)
    if op is sre.IN:  # a set of single characters, e.g. (?:想|要) compiled as [想要]
        if not all(kind is sre.LITERAL for kind, _ in arg):
            return None  # ranges, categories, negation: any of many characters
        return frozenset(chr(c).lower() if ignorecase else chr(c) for _, c in arg)
    return None  # anchors, negative lookarounds, backreferences


class LiteralSearch:
    """An automaton over a fixed set of literals: which of them occur in a text."""

    def __init__(self, literals: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for literal in set(literals):
            self._automaton.add_word(literal, literal)
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def present(self, text: str) -> frozenset[str]:
        """The literals found in `text`, every occurrence, overlapping ones included."""
        if self._empty:
            return frozenset()
        return frozenset(found for _end, found in self._automaton.iter(text))


@dataclass(frozen=True)
class Pattern:
    """A compiled pattern, the literals it needs, and the category it reports."""

    regex: re.Pattern[str]
    literals: Literals
    category: str = ""


class PatternSet:
    """Patterns in their order, indexed by the literals they need."""

    def __init__(self, patterns: list[Pattern]) -> None:
        self.patterns = patterns
        self._always = [i for i, p in enumerate(patterns) if p.literals is None]
        self._by_literal: dict[str, list[int]] = defaultdict(list)
        for index, pattern in enumerate(patterns):
            for literal in pattern.literals or ():
                self._by_literal[literal].append(index)

    @property
    def literals(self) -> frozenset[str]:
        """Every literal some pattern needs."""
        return frozenset(self._by_literal)

    def runnable(self, present: frozenset[str], start: int = 0) -> list[tuple[int, Pattern]]:
        """The patterns from `start` on that can match a text with these literals, in order."""
        chosen = set(self._always)
        for literal in present:
            chosen.update(self._by_literal.get(literal, ()))
        return [(i, self.patterns[i]) for i in sorted(chosen) if i >= start]
