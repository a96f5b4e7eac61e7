"""The reply as it is written: cleaned as it comes, sent in sentence-sized chunks.

One home for the streamed reply, and for its invariant: **what was shown equals what is
stored, byte for byte.**
- `ReplyDelta` is what a client receives: text to append to the reply shown so far, or
  (`replaces`) text that replaces all of it. `shown_text` applies a run of deltas; the
  result is the stored reply.
- `clean_reply` is the one definition of a clean reply: no thinking block, no speaker
  label, no wrapping quotes.
- `StreamCleaner` releases the model's text as it comes, cleaned as `clean_reply` would,
  holding back only what it cannot yet judge (a label or `<think>` tag still arriving, a
  closing quote, the rest of a sentence). Its `finish` gives the last chunk; in the rare
  case where the whole answer cleans differently from its start, a replacement.
- Deltas travel on LangGraph's custom stream as `{REPLY_KEY: text}` and
  `{REPLACE_KEY: text}` events (`delta_of` reads them back).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

REPLY_KEY = "emostage_reply"
"""The key of appended reply text in custom stream events: `{"emostage_reply": "..."}`."""
REPLACE_KEY = "emostage_replace"
"""The key of a replacement: `{"emostage_replace": "..."}` replaces what was shown."""
FAILED_KEY = "emostage_failed"
"""Marks the replacement that tells the client their turn failed (`emostage.failures`)."""

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_QUOTES = ('"', "'", "「", "」", "“", "”", "『", "』")
# A chunk ends after a sentence's end, or at a space once this much text waits.
_SENTENCE_END = re.compile(r"[.!?…](?=\s)|[。！？\n]")
CHUNK_WAIT_CHARS = 80
# The look-ahead is bounded: past this much unbroken text, a chunk is cut anyway, and past
# `STREAM_LIMIT_CHARS` of answer (far beyond any reply within max_tokens; a server that
# floods), nothing more is shown until the answer ends.
HOLD_LIMIT_CHARS = 400
STREAM_LIMIT_CHARS = 16_384


class ReplyDelta(str):
    """A change to the reply a client shows: a string, the text it adds.

    Most deltas append: joined, they are the reply (`"".join(stage.stream(...))`). A delta
    that `replaces` discards what was shown of the reply and shows its text instead; it is
    sent only when shown text must change (a draft that falls back after part of it was
    shown, a retry that writes something else, a turn that fails). `shown_text` applies
    any run of deltas.
    """

    replaces: bool

    def __new__(cls, text: str = "", *, replaces: bool = False) -> ReplyDelta:
        """A delta of `text`; with `replaces`, the reply's whole text from now on."""
        delta = super().__new__(cls, text)
        delta.replaces = replaces
        return delta

    @property
    def text(self) -> str:
        """The delta's text, as a plain string."""
        return str(self)

    def apply(self, shown: str) -> str:
        """The reply shown after this delta, given what was shown before it."""
        return self.text if self.replaces else shown + self.text

    def event(self) -> dict[str, str]:
        """This delta as a custom stream event."""
        return {REPLACE_KEY if self.replaces else REPLY_KEY: self.text}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ReplyDelta):
            return self.text == other.text and self.replaces == other.replaces
        return str.__eq__(self, other)

    __hash__ = str.__hash__

    def __repr__(self) -> str:
        return f"ReplyDelta({self.text!r}{', replaces=True' if self.replaces else ''})"


def delta_of(event: Any) -> ReplyDelta | None:
    """The reply delta in one custom stream event; None for any other event."""
    if isinstance(event, dict):
        if isinstance(text := event.get(REPLY_KEY), str):
            return ReplyDelta(text)
        if isinstance(text := event.get(REPLACE_KEY), str):
            return ReplyDelta(text, replaces=True)
    return None


def shown_text(deltas: Iterable[ReplyDelta]) -> str:
    """The reply a client shows after applying `deltas` in order."""
    shown = ""
    for delta in deltas:
        shown = delta.apply(shown)
    return shown


def clean_reply(text: str, labels: Sequence[str]) -> str:
    """Strip what models wrap around a chat message: thinking, a speaker label, quotes."""
    text = _THINK.sub("", text).strip()
    for label in labels:
        for colon in (":", "："):
            if text.startswith(label + colon):
                text = text[len(label) + 1 :].strip()
    if len(text) > 1 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


def sentence_chunks(text: str) -> list[str]:
    """`text` cut after each sentence: the chunks a finished reply is sent in."""
    chunks, start = [], 0
    for end in _chunk_ends(text):
        chunks.append(text[start:end])
        start = end
    if start < len(text):
        chunks.append(text[start:])
    return chunks


def _chunk_ends(text: str) -> list[int]:
    """Where chunks of `text` may end: after each sentence, or at a space in a long one."""
    ends = []
    last = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        while end < len(text) and text[end].isspace():  # the space goes with the sentence
            end += 1
        ends.append(end)
        last = end
    if len(text) - last > CHUNK_WAIT_CHARS and (space := text.rfind(" ", last)) > last:
        ends.append(space + 1)
    return ends


class StreamCleaner:
    """A model's text, cleaned as it arrives and released a chunk at a time.

    `feed` takes the next piece of the answer and returns the chunks that are now
    certain; `finish` returns the final delta. The chunks released, joined, are a prefix
    of `clean_reply(answer)`; `finish` appends the rest, or replaces it all when the
    whole answer cleans differently (a quote that turned out not to close, say).
    """

    def __init__(self, labels: Sequence[str], emit: Callable[[ReplyDelta], None]) -> None:
        """Clean answers labelled with `labels`; send deltas to `emit`."""
        self.labels = tuple(labels)
        self.emit = emit
        self.pieces: list[str] = []
        self.length = 0
        self.shown = ""
        self.fresh: list[str] = []
        self.replaced = False
        """Some shown text was taken back: `messages` clients hold a stale preview."""
        self.message_id = f"emostage-{uuid.uuid4().hex}"
        """The id of the reply message, streamed and stored (`emostage.models.shown`)."""

    @property
    def raw(self) -> str:
        """The answer so far, as written."""
        return "".join(self.pieces)

    def feed(self, piece: str) -> None:
        """Take the next piece of the answer; send the chunks it completes."""
        self.pieces.append(piece)
        self.length += len(piece)
        if self.length > STREAM_LIMIT_CHARS:
            return  # a flood: `finish` (or the output cap) settles it
        ready = self._provisional()
        if not ready.startswith(self.shown):
            return  # judged differently now: `finish` settles it
        pending = ready[len(self.shown) :]
        ends = _chunk_ends(pending)
        if not ends and len(pending) > HOLD_LIMIT_CHARS:
            ends = [len(pending) - CHUNK_WAIT_CHARS]
        start = 0
        for end in ends:  # a delta a sentence, however many one piece completes
            self._send(ReplyDelta(pending[start:end]))
            start = end

    def finish(self) -> str:
        """Send the rest of the answer, cleaned; return the whole clean reply."""
        final = clean_reply(self.raw, self.labels)
        if final.startswith(self.shown):
            for chunk in sentence_chunks(final[len(self.shown) :]):
                self._send(ReplyDelta(chunk))
        else:
            self._send(ReplyDelta(final, replaces=True))
        return final

    def settle(self, text: str) -> None:
        """Make the reply shown exactly `text`: the rest of it, or a replacement."""
        if self.shown == text:
            return
        if not self.shown:
            for chunk in sentence_chunks(text):
                self._send(ReplyDelta(chunk))
        elif text.startswith(self.shown):
            self._send(ReplyDelta(text[len(self.shown) :]))
        else:
            self._send(ReplyDelta(text, replaces=True))

    def restart(self) -> None:
        """A new attempt begins: forget its answer so far, keep what was shown.

        What was shown stays while the new answer repeats it (a stream cut off and asked
        again); where it writes something else, `finish` replaces it.
        """
        self.pieces, self.length = [], 0

    def take_fresh(self) -> list[str]:
        """Text appended to the shown reply since the last call (for `messages` clients)."""
        fresh, self.fresh = self.fresh, []
        return fresh

    def _send(self, delta: ReplyDelta) -> None:
        if delta.replaces:
            self.replaced = True
        else:
            self.fresh.append(delta.text)
        self.shown = delta.apply(self.shown)
        self.emit(delta)

    def _provisional(self) -> str:
        """The answer so far, cleaned, less what cannot be judged yet."""
        text = _THINK.sub("", self.raw)
        if (opened := text.find("<think>")) >= 0:
            text = text[:opened]  # a thinking block still open: nothing after it yet
        else:
            text = text[: len(text) - _partial_tag_length(text)]
        text = text.lstrip()
        for label in self.labels:
            for colon in (":", "："):
                if len(text) <= len(label) and (label + colon).startswith(text):
                    return ""  # a label may still be arriving
                if text.startswith(label + colon):
                    text = text[len(label) + 1 :].lstrip()
        if text[:1] in _QUOTES:
            text = text[1:].lstrip()  # most likely a quoted reply: its close is held below
        return text.rstrip("".join(_QUOTES) + " \t\r\n\u3000")


class ReplyWriter:
    """Sends reply deltas on LangGraph's custom stream (a node's `runtime.stream_writer`)."""

    def __init__(self, write: Callable[[Any], None]) -> None:
        """Send through `write`."""
        self.write = write

    def __call__(self, delta: ReplyDelta) -> None:
        """Send one delta."""
        self.write(delta.event())


def _partial_tag_length(text: str) -> int:
    """How many closing characters of `text` could begin a `<think>` tag."""
    for size in range(min(len("<think>") - 1, len(text)), 0, -1):
        if "<think>".startswith(text[-size:]):
            return size
    return 0
