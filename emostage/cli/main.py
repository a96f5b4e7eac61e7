"""The `emostage` commands: respond, chat, graph, doctor, sessions."""

from __future__ import annotations

import importlib.metadata
import os
import sys
import uuid
from typing import Annotated

import typer
from rich.markup import escape

from emostage.api import EmoStage
from emostage.cli.options import (
    Backend,
    BaseUrl,
    Debug,
    Language,
    Mode,
    Model,
    ModelPath,
    NoPerspective,
    NoPhase,
    OneLineErrors,
    Store,
    TaxonomyOpt,
    build_stage,
    err,
    out,
    run_action,
    say,
    spinner,
    warn_fallbacks,
)
from emostage.dialogue import load_dialogue, parse_dialogue
from emostage.errors import StoreError
from emostage.files import decode, parse_json, read_limited
from emostage.graph import build_graph
from emostage.llm import describe_model
from emostage.nodes import DRAFT_CRISIS
from emostage.review import ReviewRequest
from emostage.sessions import open_store, store_failures
from emostage.state import Reply

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
def respond(
    file: Annotated[str, typer.Argument(help="Dialogue JSON file, or - for stdin.")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the whole Reply as JSON.")
    ] = False,
    model: Model = None,
    backend: Backend = None,
    model_path: ModelPath = None,
    base_url: BaseUrl = None,
    language: Language = None,
    taxonomy: TaxonomyOpt = "ivey",
    mode: Mode = None,
    no_perspective: NoPerspective = False,
    no_phase: NoPhase = False,
    debug: Debug = False,
) -> None:
    """Write the counselor's next turn for a dialogue that ends with the client."""

    def action() -> None:
        dialogue = (
            parse_dialogue(
                parse_json(decode(read_limited(sys.stdin.buffer, "stdin"), "stdin"), "stdin")
            )
            if file == "-"
            else load_dialogue(file)
        )
        stage = build_stage(
            taxonomy,
            no_perspective=no_perspective,
            no_phase=no_phase,
            model=model,
            backend=backend,
            model_path=model_path,
            base_url=base_url,
            language=language,
            mode=mode,
        )
        with spinner("Listening and drafting ..."):
            reply = stage.respond(dialogue)
        if json_output:
            out.print_json(reply.model_dump_json())
        else:
            out.print(reply.response, highlight=False, markup=False)
            note = f"phase: {reply.phase or '-'} · {reply.language} · {reply.diagnostics.model}"
            say(err, note, "dim")
        warn_fallbacks(reply.diagnostics.fallbacks)

    run_action(debug, action)


@app.command()
def chat(
    session: Annotated[
        str | None, typer.Option(help="Session name; resumes it if it exists.")
    ] = None,
    model: Model = None,
    backend: Backend = None,
    model_path: ModelPath = None,
    base_url: BaseUrl = None,
    language: Language = None,
    taxonomy: TaxonomyOpt = "ivey",
    mode: Mode = None,
    no_perspective: NoPerspective = False,
    no_phase: NoPhase = False,
    review: Annotated[
        bool,
        typer.Option(
            "--review", help="Show each crisis reply to you, the operator, before the client."
        ),
    ] = False,
    store: Store = None,
    debug: Debug = False,
) -> None:
    """Talk as the client, multi-turn. Sessions persist; /quit or Ctrl-D ends."""

    def action() -> None:
        name = uuid.uuid4().hex[:8] if session is None else session
        with open_store(store) as saver, saver.hold(name):
            stage = build_stage(
                taxonomy,
                saver,
                no_perspective=no_perspective,
                no_phase=no_phase,
                mode=mode,
                model=model,
                backend=backend,
                model_path=model_path,
                base_url=base_url,
                language=language,
                review="crisis" if review else "off",
            )
            _print_history(stage, name)
            if (request := stage.pending_review(name)) is not None:  # left paused last time
                _show_reply(_reviewed(stage, name, request))
            say(err, f"session {name!r} · /quit to leave · resume with --session {name}", "dim")
            while (line := _ask()) is not None:
                if line.strip():
                    _chat_turn(stage, name, line)

    run_action(debug, action)


def _confirmed(question: str) -> bool:
    """Ask a yes/no question on the terminal; no answer (end of input) is no."""
    try:
        answer = out.input(escape(f"{question} [y/N] "))
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _ask() -> str | None:
    try:
        line = out.input("[bold cyan]you>[/] ")
    except EOFError:
        return None
    return None if line.strip() in ("/quit", "/exit") else line


def _chat_turn(stage: EmoStage, session: str, line: str) -> None:
    try:
        with spinner("..."):  # the reply is shown once it is final and stored
            reply = stage.respond([{"role": "client", "content": line}], thread_id=session)
    except store_failures() as exc:  # e.g. the disk is full: the words must not vanish
        say(out, f"not saved: {line}")
        raise StoreError(
            f"Could not save session {session!r} ({exc}); your message, repeated above, "
            "was not stored and no reply was shown. Free some space and try again."
        ) from None
    if reply.pending_review is not None:
        reply = _reviewed(stage, session, reply.pending_review)
    _show_reply(reply)


def _show_reply(reply: Reply) -> None:
    out.print("[bold magenta]counselor>[/] ", end="")
    say(out, reply.response)
    # plan_reply's routing decides what a crisis turn is; the label follows it.
    crisis = any(report.node == DRAFT_CRISIS for report in reply.diagnostics.nodes)
    say(out, f"({'crisis' if crisis else reply.phase or '-'})", "dim")
    warn_fallbacks(reply.diagnostics.fallbacks)


def _reviewed(stage: EmoStage, session: str, request: ReviewRequest) -> Reply:
    """Show the paused draft to the operator; deliver what they approve, edit or write."""
    err.print(
        f"[bold yellow]review[/] [dim](risk: {request.risk.level}, {request.risk.subject})[/]"
    )
    say(err, request.draft)
    while True:
        try:
            choice = out.input("[bold yellow]\\[a]pprove, \\[e]dit message, \\[r]eplace reply?[/] ")
        except EOFError:
            note = f"the reply awaits review: emostage chat --session {session} --review"
            say(err, note, "dim")
            raise typer.Exit(0) from None
        action = {"a": "approve", "e": "edit", "r": "replace"}.get(choice.strip()[:1].lower())
        if action == "approve":
            return stage.resume(session, "approve")
        if action:
            text = out.input("[bold yellow]text>[/] ")
            if text.strip():
                return stage.resume(session, {"action": action, "response": text})


def _print_history(stage: EmoStage, session: str) -> None:
    state = stage.graph.get_state({"configurable": {"thread_id": session}}).values
    for turn in state.get("dialogue", []):
        who = "[bold cyan]you>[/]" if turn.role == "client" else "[bold magenta]counselor>[/]"
        out.print(who, end=" ")
        out.print(turn.content, highlight=False, markup=False)


@app.command()
def graph(taxonomy: TaxonomyOpt = "ivey", debug: Debug = False) -> None:
    """Print the graph as a mermaid diagram."""
    mermaid = run_action(debug, lambda: build_graph(taxonomy=taxonomy).get_graph().draw_mermaid())
    out.print(mermaid, highlight=False, markup=False)


@app.command()
def doctor(
    model: Model = None,
    backend: Backend = None,
    model_path: ModelPath = None,
    base_url: BaseUrl = None,
    debug: Debug = False,
) -> None:
    """Check that the backend is reachable and has the model."""

    def action() -> None:
        stage = build_stage(model=model, backend=backend, model_path=model_path, base_url=base_url)
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
