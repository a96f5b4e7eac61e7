"""Synthetic dialogues for benchmarks: written here, of controlled length."""

from __future__ import annotations

from typing import Any

# A short exchange in the register of a text counseling session, repeated to any length.
_CLIENT = (
    "Work has been piling up again and I lie awake thinking about the deadlines. "
    "My manager keeps adding tasks and I don't know how to say no."
)
_COUNSELOR = "That sounds exhausting. What goes through your mind when you lie awake?"


def dialogue(messages: int) -> list[dict[str, Any]]:
    """A dialogue of `messages` turns, alternating, ending with the client."""
    turns = []
    for index in range(messages):
        client = (messages - index) % 2 == 1
        text = f"({index}) " + (_CLIENT if client else _COUNSELOR)
        turns.append({"role": "client" if client else "counselor", "content": text})
    return turns
