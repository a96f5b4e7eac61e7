"""Who talks to the graph, and what each audience is shown.

A deployment builds the graph for one audience (`build_graph(audience=...)`,
`EmoStage(audience=...)`, Studio's `EMOSTAGE_AUDIENCE`):

- `counselor` (the default): a counselor relays the client's words and gets suggestions.
  The output and every stream carry the analysis (phase, risk, perspective); a review
  pause is LangGraph's `interrupt()`, which the counselor's client draws (`emostage.review`).
- `client`: the client chats with the graph. Its output is `ClientOutputState` (the
  messages and the reply), and LangGraph's `values` and `updates` streams carry nothing
  else (`client_options`); the `tasks`, `checkpoints` and `debug` streams are cut down to
  the same (`client_chunk`), and `astream_events`, which would carry every node's input, is refused.
  The reply message carries no analysis. The analysis stays in the checkpoint, for staff:
  the API, Studio, the thread state endpoints.
  A review pause never reaches the client as an interrupt (their front end would draw the
  reviewer's controls): the turn ends with a holding message in their language, stored as
  its own message, not as the reply (`held_update`; sent on the custom stream too, and
  `Reply.holding`), and a reviewer decides elsewhere, by a
  run of `decision_command(decision)` on the thread (`EmoStage.resume` sends it).

While a turn awaits review, a new message is refused with one line, before anything is
stored (`emostage.paused`).

This module is the one home of those decisions.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, Literal, cast

from langchain_core.messages import AIMessage
from langgraph.types import Command

from emostage.conversation import METADATA_KEY, Turn
from emostage.errors import ConfigError
from emostage.languages import Language, detect_language
from emostage.nodes import DELIVER_REPLY, draft_node
from emostage.prompts import load_prompts
from emostage.review import ReviewRequest

Audience = Literal["counselor", "client"]
AUDIENCES: tuple[Audience, ...] = ("counselor", "client")
CLIENT_CHANNELS = frozenset({"messages", "response"})  # all a client's streams carry
REVIEW_DECISION = "review_decision"  # the state key a client-audience decision arrives in
# What a client is shown of a drafting node's name (`draft_node(phase)`, `draft_crisis`...):
# never a node's name itself, since a phase id cannot be empty.
_NEUTRAL_NAME = "draft"
_STRATEGY_NAME = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(draft_node(''))}[A-Za-z0-9_]+")


def decision_command(decision: Any) -> Command[Any]:
    """The run that delivers a client-audience turn held for review, after `decision`.

    Staff send it on the client's thread (`EmoStage.resume`, or LangGraph Server's
    `command={"update": {"review_decision": ...}, "goto": "deliver_reply"}`).
    """
    return Command(update={REVIEW_DECISION: decision}, goto=DELIVER_REPLY)


def held_update(request: ReviewRequest, dialogue: list[Turn], language: str) -> dict[str, Any]:
    """The state update that holds a client-audience turn for review.

    The draft stays in the state for the reviewer; the client gets a holding message,
    which is not the reply: not in `response`, not a dialogue turn.
    """
    spoken = cast(Language, language) if language else detect_language(dialogue)
    holding = AIMessage(
        content=load_prompts(spoken).holding_reply,
        id=f"emostage-hold-{uuid.uuid4().hex}",
        response_metadata={METADATA_KEY: {"holding": True, "language": spoken}},
    )
    return {"awaiting_review": request, "messages": [holding], "response": ""}


def held_text(values: Mapping[str, Any]) -> str:
    """The holding message a held turn showed the client ("" when the turn was not held)."""
    if not values.get("awaiting_review"):
        return ""
    for message in reversed(values.get("messages", [])):
        if isinstance(message, AIMessage):
            spoken = message.response_metadata.get(METADATA_KEY, {})
            return str(message.content) if spoken.get("holding") else ""
    return ""


def client_options(options: dict[str, Any]) -> dict[str, Any]:
    """A client-audience run's stream options: `values` and `updates` of its channels only.

    LangGraph's `output_keys` does that; without it, both stream every channel.

    Raises:
        ConfigError: `output_keys` names a channel a client may not see.
    """
    keys = options.get("output_keys")
    asked = {keys} if isinstance(keys, str) else set(keys or ())
    if extra := sorted(asked - CLIENT_CHANNELS):
        raise ConfigError(
            f"A client-facing graph outputs messages and response only, not {', '.join(extra)}."
        )
    return {**options, "output_keys": keys or sorted(CLIENT_CHANNELS)}


def client_view(chunk: Any, modes: Any, options: Mapping[str, Any]) -> Any:
    """A chunk of a client-audience stream run with `options`, in its shape, cut down."""
    if options.get("version") == "v2" and isinstance(chunk, Mapping):
        return {**chunk, "data": client_chunk(chunk.get("type", ""), chunk.get("data"))}
    nested = bool(options.get("subgraphs"))
    if isinstance(modes, str):
        if nested:
            namespace, payload = chunk
            return namespace, client_chunk(modes, payload)
        return client_chunk(modes, chunk)
    if nested:
        namespace, mode, payload = chunk
        return namespace, mode, client_chunk(mode, payload)
    mode, payload = chunk
    return mode, client_chunk(mode, payload)


def client_chunk(mode: str, payload: Any) -> Any:
    """One chunk of a client-audience stream, cut down to what the client may see.

    `values` and `updates` already are (`client_options`), and so are `messages` and
    `custom` (only the reply is written to them: every other model call is untagged for
    streaming); `tasks`, `checkpoints` and `debug` carry the whole state. Every mode but
    `custom` (the reply's text only) names nodes, and so the strategy that drafted: a
    client sees each drafting node as `draft` (`unnamed`).
    """
    if mode == "custom":
        return payload
    if mode == "tasks":
        return unnamed(_task(payload))
    if mode == "checkpoints":
        return unnamed(_checkpoint(payload))
    if mode == "debug" and isinstance(payload, Mapping):
        inner = payload.get("payload")
        kind = payload.get("type")
        shown = _checkpoint(inner) if kind == "checkpoint" else _task(inner)
        return unnamed({**payload, "payload": shown})
    return unnamed(payload)


def unnamed(value: Any) -> Any:
    """`value` with every drafting node's name (`draft_<strategy>`) read as `draft`.

    Node names appear as `updates` keys, task names, triggers (`branch:to:draft_crisis`),
    `next`, and the `messages` metadata (`langgraph_node`, checkpoint namespaces); the
    name of the strategy node tells the phase. The client's channels (`messages`,
    `response`, and their writes) are left as they are: they hold the reply's own text.
    """
    if isinstance(value, str):
        return _STRATEGY_NAME.sub(_NEUTRAL_NAME, value)
    if isinstance(value, Mapping):
        return {
            unnamed(key): item if key in CLIENT_CHANNELS else unnamed(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        if value and isinstance(value[0], str) and value[0] in CLIENT_CHANNELS:
            return value  # a write to a client channel: (channel, value)
        return type(value)(unnamed(item) for item in value)
    return value  # a message: the reply as stored


def _task(payload: Any) -> Any:
    if not isinstance(payload, Mapping):
        return payload
    task = {k: v for k, v in payload.items() if k in ("id", "name", "triggers", "error")}
    if "input" in payload:
        task["input"] = None
    if "result" in payload:
        task["result"] = _client_writes(payload["result"])
    if "interrupts" in payload:
        task["interrupts"] = []
    return task


def _checkpoint(payload: Any) -> Any:
    if not isinstance(payload, Mapping):
        return payload
    shown = {k: v for k, v in payload.items() if k not in ("values", "tasks")}
    shown["values"] = _client_writes(payload.get("values") or {})
    shown["tasks"] = [
        {k: v for k, v in task.items() if k in ("id", "name")}
        for task in payload.get("tasks") or ()
        if isinstance(task, Mapping)
    ]
    return shown


def _client_writes(result: Any) -> Any:
    """Writes or values, keeping the client's channels only."""
    if isinstance(result, Mapping):
        return {k: v for k, v in result.items() if k in CLIENT_CHANNELS}
    if isinstance(result, list | tuple):
        return [w for w in result if isinstance(w, list | tuple) and w and w[0] in CLIENT_CHANNELS]
    return None
