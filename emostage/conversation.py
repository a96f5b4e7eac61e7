"""Chat messages and EmoStage's turns: the one place that maps one to the other.

EmoStage reads a dialogue of `client` and `counselor` turns. Chat apps and LangGraph's
`messages` convention speak of `user`/`human` and `assistant`/`ai`. Both are accepted
wherever a conversation comes in (`EmoStage.respond`, the graph's `dialogue` and
`messages` inputs, dialogue files):

| speaker            | accepted as                                                     |
|--------------------|-----------------------------------------------------------------|
| client             | `client`, `user`, `human`; a `HumanMessage`                     |
| counselor          | `counselor`, `assistant`, `ai`; an `AIMessage`                  |
| (not a turn)       | `system`, `developer`, `tool`, `function` messages, and AI      |
|                    | messages with no text (tool calls): the host's, skipped         |

The counselor's reply goes out as an `AIMessage` whose `response_metadata["emostage"]`
holds the turn's phase, risk and perspective (`reply_message`).

This module is the conversation's one home: the roles, a `Turn`, reading a dialogue
(`parse_dialogue`, `load_dialogue`, KokoroChat's format included), merging a speaker's
consecutive messages (`merge_turns`, and `append_turns`, the `dialogue` channel's
reducer), the mapping to and from chat messages, and the input limits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage
from langgraph.graph.message import add_messages
from pydantic import BaseModel

from emostage.errors import InputError
from emostage.files import parse_json, read_text

if TYPE_CHECKING:
    from emostage.context import Context

Role = Literal["client", "counselor"]

CLIENT_ROLES = frozenset({"client", "user", "human"})
COUNSELOR_ROLES = frozenset({"counselor", "assistant", "ai"})
HOST_ROLES = frozenset({"system", "developer", "tool", "function"})
_INCOMPLETE = (
    "Turn {index} needs 'role' (client or counselor) and its text in 'content' or 'utterance'."
)
METADATA_KEY = "emostage"
"""The key of the turn's analysis in the reply message's `response_metadata`."""


def speaker(role: object, index: int | None = None) -> Role | None:
    """The dialogue role of a message's role or type; None for the host's own messages.

    Raises:
        InputError: an unknown role (of turn `index`, when given).
    """
    name = role.lower() if isinstance(role, str) else role
    if name in CLIENT_ROLES:
        return "client"
    if name in COUNSELOR_ROLES:
        return "counselor"
    if name in HOST_ROLES:
        return None
    where = f"Turn {index} has an unknown" if index is not None else "Unknown"
    raise InputError(
        f"{where} role {role!r}: use client/user/human, counselor/assistant/ai, or a "
        "system or tool message (skipped)."
    )


def spoken_turns(items: Sequence[object]) -> list[tuple[Role, str]]:
    """The speaker and text of each message or `{role, content}` item that is a turn.

    A dict's text is its `content` (or KokoroChat's `utterance`); a message's is its text.
    The host's own messages (system, tool, AI tool calls with no text) are skipped.

    Raises:
        InputError: an item is not a message, has an unknown role or no text, or its text
            is not valid Unicode (a lone surrogate, which no model can take).
    """
    turns: list[tuple[Role, str]] = []
    for index, item in enumerate(items):
        if isinstance(item, BaseMessage):
            role, text = speaker(item.type), item.text
        elif isinstance(item, Mapping) and item.get("role", item.get("type")) is not None:
            role = speaker(item.get("role", item.get("type")), index)
            text = item.get("content", item.get("utterance"))
        elif isinstance(item, Mapping):
            raise InputError(_INCOMPLETE.format(index=index))
        else:
            raise InputError(f"Turn {index} is not an object with 'role' and 'content'.")
        if role is None or (role == "counselor" and text == ""):
            continue
        if not isinstance(text, str):
            raise InputError(_INCOMPLETE.format(index=index))
        if (bad := _lone_surrogate(text)) is not None:
            raise InputError(
                f"Turn {index} is not valid Unicode text (a lone surrogate at character "
                f"{bad}); it was not changed or sent. Decode the source text correctly."
            )
        turns.append((role, text))
    return turns


def _lone_surrogate(text: str) -> int | None:
    """Where `text` holds a lone surrogate, or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


class Turn(BaseModel):
    """One turn of the dialogue: consecutive messages of one speaker, merged."""

    role: Role
    content: str


def merge_turns(turns: Iterable[Turn]) -> list[Turn]:
    """Merge consecutive messages of the same speaker into one turn, one message a line."""
    merged: list[Turn] = []
    for turn in turns:
        text = turn.content.strip()
        if not text:
            continue
        if merged and merged[-1].role == turn.role:
            merged[-1] = Turn(role=turn.role, content=f"{merged[-1].content}\n{text}")
        else:
            merged.append(Turn(role=turn.role, content=text))
    return merged


def append_turns(left: list[Turn], right: list[Turn] | list[dict[str, Any]]) -> list[Turn]:
    """Reducer: append turns, merging consecutive messages of the same speaker.

    Raises:
        InputError: an item is not a turn (roles as in `emostage.conversation`).
    """
    items = [t.model_dump() if isinstance(t, Turn) else t for t in right]
    incoming = [Turn(role=role, content=text) for role, text in spoken_turns(items)]
    if not left:
        return merge_turns(incoming)
    # `left` is merged already: only its last turn can join the incoming ones.
    return [*left[:-1], *merge_turns([left[-1], *incoming])]


def parse_dialogue(data: Any) -> list[Turn]:
    """Turns from a parsed JSON document, in any accepted format.

    Accepted: a list of `{role, content}` or of chat messages; `{"dialogue": [...]}` or
    `{"messages": [...]}` with that list; and the KokoroChat format, whose items carry
    `utterance` (Japanese) or `content` (translations). Roles are mapped in
    `emostage.conversation`.

    Raises:
        InputError: the document has none of these shapes, or no turns.
    """
    items = data.get("dialogue", data.get("messages")) if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise InputError(
            'Unknown dialogue format: expected a list of turns, {"dialogue": [...]} or '
            '{"messages": [...]}.'
        )
    turns = [Turn(role=role, content=text) for role, text in spoken_turns(items)]
    merged = merge_turns(turns)
    if not merged:
        raise InputError("The dialogue is empty: give at least one client turn.")
    return merged


def dialogue_turns(dialogue: object) -> list[Turn]:
    """The turns of a dialogue given to the API: a list of turns or messages, or a document.

    Raises:
        InputError: `dialogue` is no list or document, or `parse_dialogue` refuses it.
    """
    if isinstance(dialogue, str | bytes) or not isinstance(dialogue, Sequence | Mapping):
        raise InputError(
            f"The dialogue must be a list of turns {{role, content}} or a KokoroChat "
            f"document, not {type(dialogue).__name__}."
        )
    if isinstance(dialogue, Mapping):
        return parse_dialogue(dialogue)
    return parse_dialogue([t.model_dump() if isinstance(t, Turn) else t for t in dialogue])


def counselor_draft(draft: object) -> str:
    """The counselor's own draft of a reply, for a rewrite, checked.

    Raises:
        InputError: the draft is not text, or is empty.
    """
    if not isinstance(draft, str) or not draft.strip():
        raise InputError("The draft to rewrite must be non-empty text.")
    return draft


def load_dialogue(path: str | Path) -> list[Turn]:
    """Read a dialogue file (see `parse_dialogue` for the formats).

    Raises:
        InputError: the file is missing, unreadable, not a regular file, too large, not
            UTF-8 JSON or not a dialogue.
    """
    return parse_dialogue(parse_json(read_text(path), repr(str(path))))


def require_client_last(turns: Sequence[Turn]) -> None:
    """Raise `InputError` unless the dialogue ends with the client's turn."""
    if not turns:
        raise InputError("The dialogue is empty: give at least one client turn.")
    if turns[-1].role != "client":
        raise InputError("The dialogue must end with a client turn: the counselor speaks next.")


def check_size(items: Sequence[object], context: Context) -> None:
    """Refuse input over `context.max_input_chars`: turns, messages or `{role, content}` items.

    Raises:
        InputError: the text of `items`, all told, is over the limit.
    """
    size = sum(len(_text_of(item)) for item in items)
    if size > context.max_input_chars:
        raise InputError(
            f"The dialogue is too long ({size:,} characters; the limit is "
            f"{context.max_input_chars:,}). Trim it, or raise max_input_chars."
        )


def _text_of(item: object) -> str:
    if isinstance(item, Turn):
        return item.content
    if isinstance(item, BaseMessage):
        return item.text
    text = item.get("content", item.get("utterance")) if isinstance(item, Mapping) else None
    return text if isinstance(text, str) else ""


def chat_messages(left: list[AnyMessage], right: Any) -> list[AnyMessage]:
    """Reducer of the `messages` channel: LangGraph's `add_messages`, with our roles too.

    Items may be LangChain messages, `(role, text)` pairs or `{role, content}` dicts whose
    role is any accepted one above.

    Raises:
        InputError: an item is not a message.
    """
    items = right if isinstance(right, list) else [right]
    try:
        merged: Any = add_messages(cast(Any, left), [_as_message(item) for item in items])
        return cast(list[AnyMessage], merged)
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise InputError(f"Cannot read the messages: {str(exc).splitlines()[0]}") from None


def message_of(role: Role, text: str, message_id: str | None = None) -> AnyMessage:
    """A dialogue turn as a chat message: the client's is human, the counselor's AI."""
    kind = HumanMessage if role == "client" else AIMessage
    return kind(content=text, id=message_id)


def _as_message(item: Any) -> Any:
    """A `{role, content}` dict of a client or counselor role, as a message; else unchanged.

    LangGraph's `add_messages` knows user/human and assistant/ai, not our own role names.
    """
    role = item.get("role") if isinstance(item, Mapping) else None
    if isinstance(role, str) and role.lower() in ("client", "counselor"):
        return message_of(cast(Role, role.lower()), item.get("content", ""), item.get("id"))
    return item


def reply_message(
    reply: str, analysis: Mapping[str, Any], message_id: str | None = None
) -> AIMessage:
    """The counselor's reply as a chat message, its analysis in `response_metadata`.

    Args:
        reply: The delivered reply, exactly as stored in `response`.
        analysis: JSON-ready facts of the turn (phase, risk, perspective).
        message_id: The id it was streamed under, if it was; else a new one.
    """
    return AIMessage(
        content=reply,
        id=message_id or f"emostage-{uuid.uuid4().hex}",
        response_metadata={METADATA_KEY: dict(analysis)},
    )


def as_list(value: Any) -> list[Any]:
    """An input field's items: a list or tuple as a list; anything else as none."""
    return list(value) if isinstance(value, list | tuple) else []
