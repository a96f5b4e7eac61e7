"""A failed turn, as the thread keeps it and the client sees it.

When a turn on a thread fails (the model server down past its retries, the deadline, a
deployment's bad setting, or a bug), the developer gets the error as before (an
`EmoStageError` is one line). The thread also records it, so the conversation does not just
stop with no reply and no mark:

- `failure` in the state: which turn, the error's type and its one line (never client
  text: `EmoStageError` messages are EmoStage's own; of any other error, a bug, only its
  type is kept, since its message may quote anything);
- a short chat message in the client's language ("I couldn't reply just now..."), kept in
  `messages` but not in `dialogue`: it is no counselor turn, and the model never reads it;
- the turn is closed: the client's next message starts a new turn, which merges with the
  unanswered one (`emostage.conversation.append_turns`).

This module is the one home of that record (`failure_update`), of its text, and of how a
failed run tells it (`told_failure`): `emostage.guarded` calls it, for every caller of the
graph.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, cast

from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot

from emostage.context import Context
from emostage.conversation import Turn, as_list, reply_message, spoken_turns
from emostage.errors import EmoStageError, InputError
from emostage.languages import Language, detect_language
from emostage.nodes import DELIVER_REPLY, SCREEN_RISK
from emostage.prompts import load_prompts
from emostage.sessions.base import thread_config, thread_of
from emostage.state import TURN_ENDED, InputState, TurnFailure
from emostage.streaming import FAILED_KEY, REPLACE_KEY

AnyGraph = CompiledStateGraph[Any, Any, Any, Any]


def failure_update(state: dict[str, Any], error: Exception, context: Context) -> dict[str, Any]:
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
            message=_one_line(error),
        ),
        "messages": [message],
        "messages_read": len(state.get("messages", [])) + 1,
        "turns_shown": len(dialogue),
        "last_turn_shown": dialogue[-1].content if dialogue else "",
        **TURN_ENDED,
    }


def _one_line(error: Exception) -> str:
    if isinstance(error, EmoStageError):
        return str(error)
    return f"An unexpected {type(error).__name__}: see the server's log for its traceback."


def failure_text(dialogue: list[Turn], context: Context) -> str:
    """What the client is told when their turn got no reply, in their language."""
    return load_prompts(_language(dialogue, context)).failure_reply


def _language(dialogue: list[Turn], context: Context) -> Language:
    return cast(Language, context.language) if context.language else detect_language(dialogue)


def told_failure(
    graph: AnyGraph,
    error: Exception,
    input: Any,
    config: Any,
    settings: Context,
    options: Mapping[str, Any],
) -> list[Any]:
    """Record a failed turn in its thread; the chunks that end the stream by telling it.

    Bad input (`InputError`) is the caller's to fix and records nothing; a turn paused for
    review stays paused. When the store that failed the turn fails this write too, the
    client is still told.
    """
    if isinstance(error, InputError):
        return []
    latest = _thread(graph, config)
    if latest is None:
        return _telling(graph, settings, options, _said(input), None)
    try:
        snapshot = _turn_start(_walked_back(graph.get_state_history(latest)))
        if snapshot is None or snapshot.interrupts:
            return []
        dialogue = snapshot.values.get("dialogue", [])
        update = failure_update(snapshot.values, error, settings)
        graph.update_state(snapshot.config, update, as_node=DELIVER_REPLY)
        after = graph.get_state(latest)
    except Exception:
        return _telling(graph, settings, options, _said(input), None)
    return _telling(graph, settings, options, dialogue, after)


async def atold_failure(
    graph: AnyGraph,
    error: Exception,
    input: Any,
    config: Any,
    settings: Context,
    options: Mapping[str, Any],
) -> list[Any]:
    """`told_failure` on the event loop."""
    if isinstance(error, InputError):
        return []
    latest = _thread(graph, config)
    if latest is None:
        return _telling(graph, settings, options, _said(input), None)
    try:
        snapshot = _turn_start(await _awalked_back(graph.aget_state_history(latest)))
        if snapshot is None or snapshot.interrupts:
            return []
        dialogue = snapshot.values.get("dialogue", [])
        update = failure_update(snapshot.values, error, settings)
        await graph.aupdate_state(snapshot.config, update, as_node=DELIVER_REPLY)
        after = await graph.aget_state(latest)
    except Exception:
        return _telling(graph, settings, options, _said(input), None)
    return _telling(graph, settings, options, dialogue, after)


def _turn_start(history: Sequence[StateSnapshot]) -> StateSnapshot | None:
    """Where the failed turn's record goes: the checkpoint before its analysis began.

    So a chat client's "regenerate" (a rerun from the checkpoint before the notice) runs
    the whole turn again, not only the draft after a fallback analysis. `history` is the
    thread's last turn, newest first (`_walked_back`); when the turn stored nothing of its
    analysis, or is paused for review, it is the newest checkpoint.
    """
    if not history:
        return None
    newest, oldest = history[0], history[-1]
    return oldest if SCREEN_RISK in oldest.next and not newest.interrupts else newest


def _back_to_turn_start(snapshot: StateSnapshot) -> bool:
    """Whether walking a thread back stops here.

    It stops where its last turn's analysis was about to begin, or where the turn before
    ended (the last one stored nothing of its own).
    """
    return SCREEN_RISK in snapshot.next or not snapshot.next


def _walked_back(history: Iterable[StateSnapshot]) -> list[StateSnapshot]:
    """The thread's checkpoints, newest first, back to the start of its last turn."""
    walked = []
    for snapshot in history:
        walked.append(snapshot)
        if _back_to_turn_start(snapshot):
            break
    return walked


async def _awalked_back(history: AsyncIterator[StateSnapshot]) -> list[StateSnapshot]:
    """`_walked_back` of an async history."""
    walked = []
    async for snapshot in history:
        walked.append(snapshot)
        if _back_to_turn_start(snapshot):
            break
    return walked


def _said(input: Any) -> list[Turn]:
    """The turns a run without a thread was sent (for the language of its notice)."""
    if isinstance(input, InputState):
        items: list[Any] = [*input.dialogue, *input.messages]
    elif isinstance(input, Mapping):
        items = [*as_list(input.get("dialogue")), *as_list(input.get("messages"))]
    else:
        items = []
    turns = [item for item in items if isinstance(item, Turn)]
    try:
        spoken = spoken_turns([item for item in items if not isinstance(item, Turn)])
    except InputError:  # what could not be read is told in the language of the rest
        spoken = []
    return turns + [Turn(role=role, content=text) for role, text in spoken]


def _thread(graph: AnyGraph, config: Any) -> Any:
    """The latest checkpoint of the run's thread, if it runs on one."""
    thread = thread_of(config)
    return thread_config(thread) if thread and graph.checkpointer is not None else None


def _telling(
    graph: AnyGraph,
    settings: Context,
    options: Mapping[str, Any],
    dialogue: Sequence[Turn],
    after: StateSnapshot | None,
) -> list[Any]:
    """The chunks that end a failed run's stream: the client's notice, the new state."""
    notice = {REPLACE_KEY: failure_text(list(dialogue), settings)}
    keys = [graph.output_channels] if isinstance(graph.output_channels, str) else []
    keys = keys or list(graph.output_channels)
    values = {k: after.values[k] for k in keys if k in after.values} if after else None
    custom = {**notice, FAILED_KEY: True}
    return stream_chunks(options, graph.stream_mode, custom=custom, values=values)


def stream_chunks(
    options: Mapping[str, Any],
    default_mode: Any,
    *,
    custom: dict[str, Any],
    values: dict[str, Any] | None,
) -> list[Any]:
    """`custom` and `values` as chunks of a stream run with `options`, in its shape."""
    modes = options.get("stream_mode") or default_mode
    single = isinstance(modes, str)
    chunks = []
    for mode, payload in (("custom", custom), ("values", values)):
        if payload is None or mode not in ([modes] if single else modes):
            continue
        chunk: Any = payload if single else (mode, payload)
        if options.get("subgraphs"):
            chunk = ((), chunk) if single else ((), mode, payload)
        chunks.append(chunk)
    return chunks
