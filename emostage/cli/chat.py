"""The chat loop's pieces: asking, one turn, review, history, and Ctrl-C mid-turn."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import NoReturn

import typer

from emostage.api import EmoStage
from emostage.audience import held_text
from emostage.cli.live import live_turn
from emostage.cli.options import err, out, say, warn_fallbacks
from emostage.errors import StoreError
from emostage.nodes import DRAFT_CRISIS
from emostage.review import ReviewRequest
from emostage.sessions import open_store, store_failures, thread_config
from emostage.state import Reply


def ask() -> str | None:
    """The client's next line; None at end of input or /quit."""
    try:
        line = out.input("[bold cyan]you>[/] ")
    except EOFError:
        return None
    return None if line.strip() in ("/quit", "/exit") else line


def chat_turn(stage: EmoStage, session: str, line: str, store: str | None) -> None:
    """One turn: the stage shown while it runs, then the reply (after review, if asked)."""
    # On a terminal the reply is shown as it is written (a failed turn takes it back);
    # otherwise once it is final and stored.
    streams = out.is_terminal
    try:
        before = stage.graph.get_state(thread_config(session)).config["configurable"]
        turn = [{"role": "client", "content": line}]
        with ctrl_c_exits(session, line, store, before.get("checkpoint_id")):
            reply = live_turn(
                stage.respond,
                show_text=streams,
                prefix=COUNSELOR,
                dialogue=turn,
                thread_id=session,
            )
    except store_failures() as exc:  # e.g. the disk is full: the words must not vanish
        say(out, f"not saved: {line}")
        raise StoreError(
            f"Could not save session {session!r} ({exc}); your message, repeated above, "
            "was not stored and no reply was shown. Free some space and try again."
        ) from None
    if reply.pending_review is not None:
        show_reply(reviewed(stage, session, reply.pending_review), stage=stage)
    else:
        show_reply(reply, shown=streams, stage=stage)


def finish_cut_off(stage: EmoStage, session: str, store: str | None) -> None:
    """Answer the message whose turn was cut off last time (Ctrl-C, a crash), if any."""
    with ctrl_c_exits(session, "", store, None):  # the message is stored: any checkpoint
        reply = live_turn(stage.finish, thread_id=session)
    if reply is not None:
        show_reply(reply, stage=stage)


def ctrl_c_exits(
    session: str, line: str, store: str | None, before: str | None
) -> AbstractContextManager[None]:
    """While the block runs, Ctrl-C ends the process at once (`interrupted`)."""
    return on_ctrl_c(lambda: interrupted(session, line, store, before))


@contextmanager
def on_ctrl_c(handler: Callable[[], NoReturn]) -> Iterator[None]:
    """While the block runs, Ctrl-C calls `handler`, which ends the process, from the signal.

    Not by an exception: it would leave LangGraph's run, which then waits for its worker
    threads, and a model call they wait on may run to its deadline (`request_timeout_s`).
    """
    previous = signal.signal(signal.SIGINT, lambda *_: handler())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def exit_now(code: int = 130) -> NoReturn:
    """End the process at once, its output flushed; what is stored is committed already."""
    err.show_cursor(True)  # a spinner hid it
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def interrupted(session: str, line: str, store: str | None, before: str | None) -> NoReturn:
    """Ctrl-C mid-turn: say whether the message is stored and how to resume; exit now.

    The message is stored once the session has a checkpoint newer than `before` (its last
    before the turn): the turn's first write holds it, even before it joins the dialogue,
    and a resumed chat answers it. So a reply stored a moment before Ctrl-C is not taken
    for a lost message. The session is read on a connection of its own: the turn's may
    be in use. A kill -9 loses nothing either.
    """
    with open_store(store) as saver:
        saved = saver.get_tuple(thread_config(session))
    if saved is not None and saved.config["configurable"].get("checkpoint_id") != before:
        where = " --store ..." if store else ""
        say(err, f"Interrupted. Your message is saved; for its reply, resume with: "
            f"emostage chat --session {session}{where}")  # fmt: skip
    else:
        say(out, f"not saved: {line}")
        say(err, "Interrupted before your message was saved (repeated above).")
    exit_now(130)


COUNSELOR = "[bold magenta]counselor>[/] "
# What the operator may answer at the review prompt; nothing else decides.
REVIEW_ANSWERS = {
    **dict.fromkeys(("a", "approve"), "approve"),
    **dict.fromkeys(("e", "edit"), "edit"),
    **dict.fromkeys(("r", "replace"), "replace"),
}


def show_reply(reply: Reply, *, stage: EmoStage, shown: bool = False) -> None:
    """The counselor's reply (unless `shown` as it was written), its phase, any warning.

    A client audience sees the reply only.
    """
    if not shown:
        out.print(COUNSELOR, end="")
        say(out, reply.response)
    if stage.graph.audience == "client":
        return
    # plan_reply's routing decides what a crisis turn is; the label follows it.
    crisis = any(report.node == DRAFT_CRISIS for report in reply.diagnostics.nodes)
    say(out, f"({'crisis' if crisis else reply.phase or '-'})", "dim")
    warn_fallbacks(reply.diagnostics.fallbacks)


def reviewed(stage: EmoStage, session: str, request: ReviewRequest) -> Reply:
    """Show the paused draft to the operator; deliver what they approve, edit or write.

    A client audience was told a counselor will reply: that holding message comes first.
    """
    if stage.graph.audience == "client":
        holding = held_text(stage.graph.get_state(thread_config(session)).values)
        say(out, holding, "dim")  # what the client sees while you review
    err.print(
        f"[bold yellow]review[/] [dim](risk: {request.risk.level}, {request.risk.subject})[/]"
    )
    if request.candidates:  # each numbered; the crisis resources, which follow any, once
        for number, candidate in enumerate(request.candidates, 1):
            say(err, f"[{number}] {candidate}")
        if request.appendix:
            say(err, request.appendix, "dim")
    else:
        say(err, request.draft)
    picks = f", or a candidate 1-{len(request.candidates)}" if request.candidates else ""

    def ask(prompt: str) -> str:
        try:
            return err.input(prompt).strip()  # the operator's side: never the client's
        except EOFError:  # input ended: the turn stays paused, and the way back is told
            note = f"the reply awaits review: emostage chat --session {session} --review"
            say(err, note, "dim")
            raise typer.Exit(0) from None

    while True:
        choice = ask(
            f"[bold yellow]\\[a]pprove, \\[e]dit message, \\[r]eplace whole reply{picks}?[/] "
        )
        if choice.isdigit() and 1 <= int(choice) <= len(request.candidates):
            return stage.resume(session, {"action": "pick", "candidate": int(choice)})
        # Whole answers only: a reply to the client typed here by mistake must not approve.
        action = REVIEW_ANSWERS.get(choice.lower())
        if action == "approve":
            return stage.resume(session, "approve")
        if action is None:
            say(err, f"answer a, e or r{picks}; nothing was sent", "dim")
            continue
        if action == "replace" and request.resources:
            say(err, "sent as you type it: the crisis resources are not added", "dim")
        while not (text := ask("[bold yellow]text>[/] ")):
            say(err, "the text is empty; type it, or end the input to decide later", "dim")
        return stage.resume(session, {"action": action, "response": text})


def print_history(stage: EmoStage, session: str) -> None:
    """The session so far, as the chat showed it."""
    state = stage.graph.get_state(thread_config(session)).values
    for turn in state.get("dialogue", []):
        who = "[bold cyan]you>[/]" if turn.role == "client" else "[bold magenta]counselor>[/]"
        out.print(who, end=" ")
        out.print(turn.content, highlight=False, markup=False)
