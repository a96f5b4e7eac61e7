"""The first step of every turn: keep the two views of the conversation in step.

A caller sends the conversation as `dialogue` (client and counselor turns) or as chat
`messages` (LangGraph's convention, which Studio's chat view and chat front ends speak).
The nodes read `dialogue`; the reply goes out on both. So new messages join the dialogue
here, and new dialogue turns join the messages, mapped by `emostage.conversation`.
"""

from __future__ import annotations

from typing import Any

from emostage.conversation import Turn, append_turns, message_of, spoken_turns
from emostage.errors import InputError
from emostage.state import State


def read_messages(state: State) -> dict[str, Any]:
    """Map this turn's new messages to dialogue turns, or its new turns to messages.

    Raises:
        InputError: the turn brought both new messages and new dialogue turns.
    """
    new_messages = state.messages[state.messages_read :]
    new_turns = state.dialogue[state.turns_shown :]
    if new_messages and new_turns:
        raise InputError(
            "Send the conversation as 'dialogue' or as 'messages', not both in one turn."
        )
    if new_messages:
        turns = [Turn(role=role, content=text) for role, text in spoken_turns(new_messages)]
        # The dialogue merges a speaker's consecutive messages: count after the merge.
        dialogue = append_turns(state.dialogue, turns)
        return {
            "dialogue": turns,
            "messages_read": len(state.messages),
            "turns_shown": len(dialogue),
            "last_turn_shown": dialogue[-1].content if dialogue else "",
        }
    shown = [message_of(turn.role, turn.content) for turn in new_turns]
    if grown := _grown(state):  # a new turn merged into the last one shown
        shown.insert(0, message_of(state.dialogue[state.turns_shown - 1].role, grown))
    return {
        "messages": shown,
        "messages_read": len(state.messages) + len(shown),
        "turns_shown": len(state.dialogue),
        "last_turn_shown": state.dialogue[-1].content if state.dialogue else "",
    }


def _grown(state: State) -> str:
    """The text new dialogue turns added to the last turn the messages show, by merging.

    A client who writes again before a reply (after a failed turn, say) adds to their last
    turn: the dialogue holds one turn, and the messages get the new text as a message.
    """
    if not 0 < state.turns_shown <= len(state.dialogue):
        return ""
    text = state.dialogue[state.turns_shown - 1].content
    before = state.last_turn_shown
    if not before or text == before or not text.startswith(before):
        return ""
    return text[len(before) :].lstrip("\n")
