"""What the CLI commands share: consoles, option groups, one-line errors, building a stage.

Options that several commands take are declared once, in a group: a dataclass whose
fields are Typer options (`ModelChoice`, `TurnChoice`). A command decorated with
`@grouped` takes the group as one parameter; Typer shows its fields as options of their
own.
"""

from __future__ import annotations

import functools
import inspect
import sys
import typing
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass
from typing import Annotated, Any, TypeVar, cast

import typer
from langgraph.checkpoint.base import BaseCheckpointSaver
from rich.console import Console
from typer.core import TyperGroup

from emostage.api import EmoStage
from emostage.audience import AUDIENCES
from emostage.context import BACKENDS, MODES
from emostage.errors import EmoStageError
from emostage.review import ReviewPolicy
from emostage.sessions import STORE_ENV, store_failures

try:  # Typer 0.2x carries its own copy of Click
    from typer._click.exceptions import ClickException
except ImportError:  # older Typer uses Click itself
    from click.exceptions import ClickException  # type: ignore[assignment]

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

Model = Annotated[
    str | None, typer.Option(help="Model name (default: $EMOSTAGE_MODEL or qwen2.5:7b).")
]
ModelPath = Annotated[
    str | None, typer.Option(help="GGUF file for --backend llamacpp (default: embedded model).")
]
BaseUrl = Annotated[
    str | None, typer.Option(help="OpenAI-compatible server for --backend openai, e.g. .../v1.")
]
Backend = Annotated[
    str | None,
    typer.Option(help=f"One of {', '.join(BACKENDS)} (default: $EMOSTAGE_BACKEND or ollama)."),
]
Language = Annotated[str | None, typer.Option(help="Force ja, zh or en (default: detect).")]
TaxonomyOpt = Annotated[str, typer.Option("--taxonomy", help="ivey, hill, or a YAML/JSON file.")]
Mode = Annotated[str | None, typer.Option(help=f"One of {', '.join(MODES)}.")]
NoPerspective = Annotated[
    bool, typer.Option("--no-perspective", help="Ablation: skip perspective-taking.")
]
NoPhase = Annotated[bool, typer.Option("--no-phase", help="Ablation: skip phase recognition.")]
Candidates = Annotated[
    int | None,
    typer.Option(
        "--candidates",
        help="Replies drafted at once (default: 1): chat --review lets you pick one, "
        "respond --json lists them all; a rewrite writes one.",
    ),
]
AudienceOpt = Annotated[
    str,
    typer.Option(
        help=f"One of {', '.join(AUDIENCES)}: who the session is for. A client sees the reply "
        "only, and a holding message while you review.",
    ),
]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
DialogueFile = Annotated[str, typer.Argument(help="Dialogue JSON file, or - for stdin.")]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print the whole Reply as JSON.")]
Store = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar=STORE_ENV,
        show_envvar=True,
        help="Where sessions live: a postgresql:// URL, or a SQLite file "
        "(default: sessions.sqlite in your data directory).",
    ),
]


@dataclass(frozen=True)
class ModelChoice:
    """Which model answers; an unset option falls back to the environment, then the default."""

    model: Model = None
    backend: Backend = None
    model_path: ModelPath = None
    base_url: BaseUrl = None

    def settings(self) -> dict[str, str]:
        """The options given, as `Context` fields."""
        given = {field.name: getattr(self, field.name) for field in fields(self)}
        return {name: value for name, value in given.items() if value is not None}


@dataclass(frozen=True)
class TurnChoice:
    """How a turn is written: its language, taxonomy, mode and ablations."""

    language: Language = None
    taxonomy: TaxonomyOpt = "ivey"
    mode: Mode = None
    no_perspective: NoPerspective = False
    no_phase: NoPhase = False
    candidates: Candidates = None

    def settings(self) -> dict[str, Any]:
        """The options given, as `Context` fields."""
        chosen = {"language": self.language, "mode": self.mode, "candidates": self.candidates}
        return {name: value for name, value in chosen.items() if value is not None} | {
            "use_perspective": not self.no_perspective,
            "use_phase": not self.no_phase,
        }


C = TypeVar("C", bound=Callable[..., Any])


def grouped(command: C) -> C:
    """Let `command` take option groups: parameters typed with a dataclass of options.

    Typer sees each group's fields as options of the command; the command is called with
    one object per group.
    """
    signature = inspect.signature(command, eval_str=True)
    groups: dict[str, type[Any]] = {
        name: param.annotation
        for name, param in signature.parameters.items()
        if isinstance(param.annotation, type) and is_dataclass(param.annotation)
    }
    params: list[inspect.Parameter] = []
    for name, param in signature.parameters.items():
        if name not in groups:
            params.append(param.replace(kind=inspect.Parameter.KEYWORD_ONLY))
            continue
        hints = typing.get_type_hints(groups[name], include_extras=True)
        params += [
            inspect.Parameter(
                field.name, inspect.Parameter.KEYWORD_ONLY, default=field.default,
                annotation=hints[field.name],
            )
            for field in fields(groups[name])
        ]  # fmt: skip

    @functools.wraps(command)
    def with_groups(**options: Any) -> Any:
        for name, group in groups.items():
            options[name] = group(
                **{field.name: options.pop(field.name) for field in fields(group)}
            )
        return command(**options)

    del with_groups.__wrapped__  # Typer reads the signature below, not the command's
    with_groups.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    with_groups.__annotations__ = {param.name: param.annotation for param in params}
    return cast(C, with_groups)


def run_action(debug: bool, action: Callable[[], T]) -> T:
    """Run `action`; a user-fixable error becomes one line on stderr and exit code 2.

    A warning (e.g. a locale with no crisis resources) becomes one `warning:` line too.
    """
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        return _run(debug, action)


def say(console: Console, text: str, style: str = "", *, end: str = "\n") -> None:
    """Print `text` as it is: names, paths and messages may hold `[`, never markup."""
    console.print(text, style=style, end=end, highlight=False, markup=False, soft_wrap=True)


def warn_fallbacks(fallbacks: Sequence[str]) -> None:
    """Say on stderr that a turn fell back (the reasons never quote the client)."""
    if fallbacks:
        say(err, f"warning: fallback used: {'; '.join(fallbacks)}", "yellow")


def _one_line_warning(message: Warning | str, *_: Any, **__: Any) -> None:
    say(err, f"warning: {message}", "yellow")


def _run(debug: bool, action: Callable[[], T]) -> T:
    try:
        return action()
    except EmoStageError as exc:
        if debug:
            raise
        say(err, f"error: {exc}", "bold red")
        raise typer.Exit(2) from None
    except store_failures() as exc:  # the session store failed while in use
        if debug:
            raise
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        say(err, f"error: the session store failed: {problem}.", "bold red")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


class OneLineErrors(TyperGroup):
    """The root command group: a usage error (unknown option, missing argument) is one line.

    Click would print usage, a hint and a boxed message; a user error here is always one
    `error:` line on stderr and exit code 2, whatever kind it is.
    """

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the CLI, turning Click's usage errors into one line."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `emostage` alone: the help
                exc.show()
            else:
                say(err, f"error: {exc.format_message().rstrip('.')} (see --help).", "bold red")
            sys.exit(exc.exit_code)
        except typer.Abort:
            sys.exit(130)
        sys.exit(result if isinstance(result, int) else 0)


def build_stage(
    model: ModelChoice,
    turn: TurnChoice | None = None,
    checkpointer: BaseCheckpointSaver[str] | None = None,
    *,
    taxonomy: str | None = None,
    review: ReviewPolicy = "off",
    audience: str = "counselor",
) -> EmoStage:
    """An EmoStage from CLI options (unset ones fall back to env and defaults), preflighted."""
    settings: dict[str, Any] = model.settings() | (turn.settings() if turn else {})
    taxonomy = taxonomy or (turn.taxonomy if turn else "ivey")
    stage = EmoStage(
        taxonomy=taxonomy,
        checkpointer=checkpointer,
        review=review,
        audience=audience,  # type: ignore[arg-type]  # EmoStage checks it
        **settings,
    )
    with spinner(f"Checking {stage.context.backend} ..."):
        note = stage.preflight()
    if note:
        say(err, note, "yellow")
    return stage


@contextmanager
def spinner(message: str) -> Iterator[None]:
    """Show `message` with a spinner on stderr while the block runs."""
    with err.status(message, spinner="dots"):
        yield
