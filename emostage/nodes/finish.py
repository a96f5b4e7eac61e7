"""The end of every turn: the one place where the reply's final text is stored and sent.

Drafting nodes clean the model's answer, retry, fall back, or add crisis resources; only
then is the text final. `finish_turn` stores it (`response`, and the dialogue) and sends
exactly that text on LangGraph's custom stream, which is what every client reads:
`EmoStage.stream`, the CLI, and a raw `graph.stream(..., stream_mode="custom")`. Model
tokens are never streamed to clients, so a reply shown is always the reply stored.
"""

from __future__ import annotations

from typing import Any

from emostage.nodes import Step
from emostage.state import Turn

REPLY_KEY = "emostage_reply"
"""The key of reply text in custom stream events: `{"emostage_reply": "a chunk"}`."""
CHUNK_CHARS = 24  # small enough to show progress, whatever the script


def finish_turn(step: Step, response: str) -> dict[str, Any]:
    """Send the final reply on the custom stream; the state update that ends the turn."""
    for start in range(0, len(response), CHUNK_CHARS):
        step.runtime.stream_writer({REPLY_KEY: response[start : start + CHUNK_CHARS]})
    return {
        "response": response,
        "language": step.view.language,
        "dialogue": [Turn(role="counselor", content=response)],
    }


def reply_chunk(event: Any) -> str:
    """The reply text in one custom stream event; empty for any other event."""
    if isinstance(event, dict) and isinstance(text := event.get(REPLY_KEY), str):
        return text
    return ""
