"""What a terminal shows while a turn runs: the stage it is at, then the reply as written.

The stages are the graph's own nodes, as LangGraph reports them starting and ending; the
reply comes from the reply channel (`emostage.streaming`), sentence by sentence, and a
replacement redraws it: what stays on screen is what was stored. When stdout is not a
terminal, only the final text is printed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from rich.live import Live
from rich.text import Text

from emostage.api import EmoStage
from emostage.cli.options import err, out
from emostage.nodes import (
    BUILTIN_NODES,
    CHECK_SAFETY_MODEL,
    DELIVER_REPLY,
    PLAN_REPLY,
    READ_MESSAGES,
    RECOGNIZE_PHASE,
    SCREEN_RISK,
    TAKE_PERSPECTIVE,
)
from emostage.state import Reply
from emostage.streaming import ReplyDelta

_LABELS = {
    READ_MESSAGES: "reading the session",
    SCREEN_RISK: "screening for risk",
    RECOGNIZE_PHASE: "recognizing the phase",
    TAKE_PERSPECTIVE: "taking the client's perspective",
    CHECK_SAFETY_MODEL: "asking the guard model",
    PLAN_REPLY: "choosing a strategy",
    DELIVER_REPLY: "delivering the reply",
}
T = TypeVar("T")
DRAFTING = "drafting the reply"  # every draft node: one per phase, crisis, general, baseline
STAGE_LABELS = (*_LABELS.values(), DRAFTING)


def stage_label(nodes: frozenset[str]) -> str:
    """What the running `nodes` are doing, in graph order (side-by-side ones joined)."""
    order = {name: index for index, name in enumerate(BUILTIN_NODES)}
    labels = [_LABELS.get(n, DRAFTING) for n in sorted(nodes, key=lambda n: order.get(n, 99))]
    return ", ".join(dict.fromkeys(labels))


def live_turn(
    run: Callable[..., T], *, show_text: bool = False, prefix: str = "", **arguments: Any
) -> T:
    """Run `run(**arguments, on_stage=...)` under a spinner that names the stage.

    With `show_text`, the reply is shown on stdout as it is written (the spinner ends at
    its first chunk, `prefix` comes before it), and redrawn when it is replaced.
    """
    reply = Live(Text(), console=out, auto_refresh=False)
    head = Text.from_markup(prefix)
    with err.status(stage_label(frozenset({READ_MESSAGES})), spinner="dots") as status:

        def on_stage(nodes: frozenset[str]) -> None:
            status.update(stage_label(nodes))

        shown = Text()

        def on_text(delta: ReplyDelta) -> None:
            if not reply.is_started:
                status.stop()
                reply.start()
            shown.plain = delta.apply(shown.plain)
            reply.update(Text.assemble(head, shown), refresh=True)

        if show_text:
            arguments["on_text"] = on_text
        try:
            return run(**arguments, on_stage=on_stage)
        finally:
            if reply.is_started:
                reply.stop()


def respond_live(stage: EmoStage, dialogue: Any, **arguments: Any) -> Reply:
    """`stage.respond` with the stage shown, and the reply printed as it is delivered."""
    reply = live_turn(stage.respond, show_text=True, dialogue=dialogue, **arguments)
    out.print()
    return reply
