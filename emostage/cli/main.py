"""The `emostage` commands: respond, rewrite, chat, graph, doctor, sessions."""

from __future__ import annotations

import importlib.metadata
import os
import sys
import uuid
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape

from emostage.cli.chat import (
    ask,
    chat_turn,
    exit_now,
    finish_cut_off,
    on_ctrl_c,
    print_history,
    reviewed,
    show_reply,
)
from emostage.cli.live import respond_live
from emostage.cli.options import (
    AudienceOpt,
    Debug,
    DialogueFile,
    JsonOutput,
    ModelChoice,
    OneLineErrors,
    Store,
    TaxonomyOpt,
    TurnChoice,
    build_stage,
    err,
    grouped,
    out,
    run_action,
    say,
    spinner,
    warn_fallbacks,
)
from emostage.conversation import Turn, load_dialogue, parse_dialogue
from emostage.files import decode, parse_json, read_limited
from emostage.graph import build_graph
from emostage.models.source import describe_model
from emostage.review import ReviewPolicy
from emostage.sessions import open_store

app = typer.Typer(
    help="EmoStage: the next counselor turn, via perspective-taking and phase recognition.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=OneLineErrors,
)


def _print_version(requested: bool) -> None:
    if requested:
        out.print(f"emostage {importlib.metadata.version('emostage')}", markup=False)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """EmoStage: the next counselor turn, via perspective-taking and phase recognition."""
    # What the commands write holds client text (sessions, evaluation runs): owner-only.
    os.umask(os.umask(0o077) | 0o077)


@app.command()
@grouped
def respond(
    file: DialogueFile,
    json_output: JsonOutput = False,
    *,
    chosen: ModelChoice,
    turn: TurnChoice,
    debug: Debug = False,
) -> None:
    """Write the counselor's next turn for a dialogue that ends with the client."""

    def action() -> None:
        dialogue = read_dialogue(file)
        stage = build_stage(chosen, turn)
        live = not json_output and out.is_terminal  # the stages, then the reply as delivered
        with on_ctrl_c(_no_reply):
            if live:
                reply = respond_live(stage, dialogue)
            else:
                with spinner("Listening and drafting ..."):
                    reply = stage.respond(dialogue)
        if json_output:
            out.print_json(reply.model_dump_json())
        else:
            if not live:
                out.print(reply.response, highlight=False, markup=False)
            note = f"phase: {reply.phase or '-'} · {reply.language} · {reply.diagnostics.model}"
            say(err, note, "dim")
        warn_fallbacks(reply.diagnostics.fallbacks)

    run_action(debug, action)


@app.command()
@grouped
def rewrite(
    file: DialogueFile,
    draft: Annotated[
        str, typer.Option("--draft", help="Your own draft of the next message, to improve.")
    ],
    json_output: JsonOutput = False,
    *,
    chosen: ModelChoice,
    turn: TurnChoice,
    debug: Debug = False,
) -> None:
    """Improve your own draft of the next turn for empathy and the phase; list the changes."""

    def action() -> None:
        dialogue = read_dialogue(file)
        stage = build_stage(chosen, turn)
        with on_ctrl_c(_no_reply), spinner("Reading the session and your draft ..."):
            asked: dict[str, Any] = {"candidates": turn.candidates} if turn.candidates else {}
            reply = stage.rewrite(dialogue, draft, **asked)  # more than one is refused
        if json_output:
            out.print_json(reply.model_dump_json())
        else:
            out.print(reply.response, highlight=False, markup=False)
            for change in reply.changes:
                say(err, f"- {change}", "dim")
            say(err, f"phase: {reply.phase or '-'} · {len(reply.changes)} change(s)", "dim")
        warn_fallbacks(reply.diagnostics.fallbacks)

    run_action(debug, action)


def read_dialogue(file: str) -> list[Turn]:
    """The dialogue in `file`, or on stdin for `-`."""
    if file != "-":
        return load_dialogue(file)
    return parse_dialogue(
        parse_json(decode(read_limited(sys.stdin.buffer, "stdin"), "stdin"), "stdin")
    )


def _no_reply() -> NoReturn:
    """Ctrl-C during `respond`: nothing was stored, so there is nothing to resume."""
    say(err, "Interrupted: no reply was written.")
    exit_now(130)


@app.command()
@grouped
def chat(
    session: Annotated[
        str | None, typer.Option(help="Session name; resumes it if it exists.")
    ] = None,
    *,
    chosen: ModelChoice,
    turn: TurnChoice,
    review: Annotated[
        bool,
        typer.Option(
            "--review", help="Show each crisis reply to you, the operator, before the client."
        ),
    ] = False,
    audience: AudienceOpt = "counselor",
    store: Store = None,
    debug: Debug = False,
) -> None:
    """Talk as the client, multi-turn. Sessions persist; /quit or Ctrl-D ends."""

    def action() -> None:
        name = uuid.uuid4().hex[:8] if session is None else session
        with open_store(store) as saver, saver.hold(name):
            policy: ReviewPolicy = "crisis" if review else "off"
            stage = build_stage(chosen, turn, saver, review=policy, audience=audience)
            print_history(stage, name)
            if (request := stage.pending_review(name)) is not None:  # left paused last time
                show_reply(reviewed(stage, name, request), stage=stage)
            else:
                finish_cut_off(stage, name, store)
            say(err, f"session {name!r} · /quit to leave · resume with --session {name}", "dim")
            while (line := ask()) is not None:
                if line.strip():
                    chat_turn(stage, name, line, store)

    run_action(debug, action)


def _confirmed(question: str) -> bool:
    """Ask a yes/no question on the terminal; no answer (end of input) is no."""
    try:
        answer = out.input(escape(f"{question} [y/N] "))
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


@app.command()
def graph(taxonomy: TaxonomyOpt = "ivey", debug: Debug = False) -> None:
    """Print the graph as a mermaid diagram."""
    mermaid = run_action(debug, lambda: build_graph(taxonomy=taxonomy).get_graph().draw_mermaid())
    out.print(mermaid, highlight=False, markup=False)


@app.command()
@grouped
def doctor(*, chosen: ModelChoice, debug: Debug = False) -> None:
    """Check that the backend is reachable and has the model."""

    def action() -> None:
        stage = build_stage(chosen)
        say(out, "ok", "green", end=" ")
        say(out, f"{describe_model(None, stage.context)} is ready")

    run_action(debug, action)


sessions = typer.Typer(help="See and erase the chat sessions stored on this machine.")
app.add_typer(sessions, name="sessions")


@sessions.command("list")
def sessions_list(store: Store = None, debug: Debug = False) -> None:
    """List stored sessions: name, turns, last change."""

    def action() -> None:
        with open_store(store) as saver:
            stored, where = saver.sessions(), saver.location
        if not stored:
            say(err, f"no sessions stored in {where}", "dim")
        for info in stored:
            say(out, f"{info.name}\t{info.turns} turns\t{info.updated}")

    run_action(debug, action)


@sessions.command("delete")
def sessions_delete(
    name: Annotated[str, typer.Argument(help="The session to erase.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    store: Store = None,
    debug: Debug = False,
) -> None:
    """Erase one session and every message in it (asks first, unless --yes)."""

    def action() -> None:
        with open_store(store) as saver, saver.hold(name):
            saver.require(name)  # before asking about it
            if not yes and not _confirmed(f"Erase session {name!r} and every message in it?"):
                say(err, f"session {name!r} was not deleted")
                raise typer.Exit(1)
            saver.erase(name)
        say(out, f"deleted session {name!r}")

    run_action(debug, action)
