"""A model server's speed, simulated: prefill and decode rates, parallel slots, prefix cache.

`FakeOllama(speed=ServerSpeed(...))` then takes as long as a real server would: a request
waits for a free slot, pays prefill for the prompt tokens its slot has not cached, and streams
its answer at the decode rate.

Slots keep their prompts as Ollama's runner does with several parallel requests
(`findBestCacheSlot` in ollama/ollama `runner/ollamarunner/cache.go`): a request reuses the
longest prefix any slot holds, copied into the slot it takes, which is a slot whose whole
cache its prompt extends, or else the least recently used free slot. So one request's
prompt does not evict another's that shares less with it than with a third.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from emostage.models.backends.llamacpp import common_prefix_length

_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]|\w+|[^\w\s]+")


@dataclass(frozen=True)
class ServerSpeed:
    """The physics of one model server."""

    prefill_tps: float = 1500.0
    """Prompt tokens evaluated per second."""
    decode_tps: float = 30.0
    """Tokens generated per second, per slot."""
    slots: int = 2
    """Requests served at once; the rest wait in line."""
    prefix_cache: bool = True
    """Reuse the longest prompt prefix a slot has cached."""


@dataclass(frozen=True)
class SlotTiming:
    """What one request costs before its first token."""

    prompt_tokens: int
    cached_tokens: int
    prefill_s: float


def approx_tokens(text: str) -> list[str]:
    """A tokenizer stand-in: one token per CJK character, word or run of punctuation."""
    return _TOKEN.findall(text)


def token_pieces(text: str, tokens_per_piece: int = 4) -> list[str]:
    """`text` cut into stream chunks at token boundaries, whitespace kept."""
    ends = [match.end() for match in _TOKEN.finditer(text)]
    cuts = [0, *ends[tokens_per_piece - 1 :: tokens_per_piece], len(text)]
    return [text[a:b] for a, b in itertools.pairwise(cuts) if b > a] or [""]


class Slots:
    """The server's parallel slots and what each has cached."""

    def __init__(self, speed: ServerSpeed) -> None:
        """Start with every slot free and empty."""
        self.speed = speed
        self._cached: list[list[str]] = [[] for _ in range(speed.slots)]
        self._free = set(range(speed.slots))
        self._last_used = [0] * speed.slots
        self._clock = itertools.count(1)
        self._changed = threading.Condition()

    @contextmanager
    def serve(self, prompt: list[str]) -> Iterator[SlotTiming]:
        """Hold a slot for one request; it caches `prompt` afterwards."""
        with self._changed:
            self._changed.wait_for(lambda: bool(self._free))
            shared = [common_prefix_length(held, prompt) for held in self._cached]
            extended = [s for s in self._free if shared[s] == len(self._cached[s]) > 0]
            slot = extended[0] if extended else min(self._free, key=self._last_used.__getitem__)
            self._free.remove(slot)
            self._last_used[slot] = next(self._clock)
        cached = max(shared) if self.speed.prefix_cache else 0
        try:
            yield SlotTiming(len(prompt), cached, (len(prompt) - cached) / self.speed.prefill_tps)
        finally:
            with self._changed:
                self._cached[slot] = prompt
                self._free.add(slot)
                self._changed.notify()
