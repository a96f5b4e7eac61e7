"""A failed turn, as the thread keeps it and the client sees it.

When a turn on a thread fails (the model server down past its retries, the deadline, a
deployment's bad setting), the developer gets the one-line `EmoStageError` as before. The
thread also records it, so the conversation does not just stop with no reply and no mark:

- `failure` in the state: which turn, the error's type and its one line (never client
  text: `EmoStageError` messages are EmoStage's own);
- a short chat message in the client's language ("I couldn't reply just now..."), kept in
  `messages` but not in `dialogue`: it is no counselor turn, and the model never reads it;
- the turn is closed: the client's next message starts a new turn, which merges with the
  unanswered one (`emostage.conversation.append_turns`).

This module is the one home of that record (`failure_update`) and of its text.
`emostage.run`'s guarded runs write it, for every caller of the graph.
"""

from __future__ import annotations

from typing import Any, cast

from emostage.context import Context
from emostage.conversation import Turn, reply_message
from emostage.errors import EmoStageError
from emostage.languages import Language, detect_language
from emostage.prompts import load_prompts
from emostage.state import TURN_ENDED, TurnFailure


def failure_update(state: dict[str, Any], error: EmoStageError, context: Context) -> dict[str, Any]:
    """The state update that records `error` for the turn in `state` and tells the client.

    Args:
        state: The thread's values at its last checkpoint.
        error: Why the turn failed.
        context: The turn's settings (a forced language).
    """
    dialogue: list[Turn] = list(state.get("dialogue", []))
    text = failure_text(dialogue, context)
    message = reply_message(text, {"failed": True, "language": _language(dialogue, context)})
    return {
        "failure": TurnFailure(
            turn=sum(t.role == "client" for t in dialogue),
            error=type(error).__name__,
            message=str(error),
        ),
        "messages": [message],
        "messages_read": len(state.get("messages", [])) + 1,
        "turns_shown": len(dialogue),
        "last_turn_shown": dialogue[-1].content if dialogue else "",
        **TURN_ENDED,
    }


def failure_text(dialogue: list[Turn], context: Context) -> str:
    """What the client is told when their turn got no reply, in their language."""
    return load_prompts(_language(dialogue, context)).failure_reply


def _language(dialogue: list[Turn], context: Context) -> Language:
    return cast(Language, context.language) if context.language else detect_language(dialogue)
