"""What `emostage eval` does, step by step; the CLI only parses options and prints.

Each function runs one command's work on a run folder and returns what happened, so the
same steps serve the CLI, a notebook, or a script.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast, get_args

from langsmith import tracing_context
from rich.console import Console

from emostage.api import EmoStage
from emostage.context import Context
from emostage.errors import ConfigError, InputError, ModelUnavailableError
from emostage.evaluation.examples import Example
from emostage.evaluation.judge import Judge
from emostage.evaluation.pipeline import (
    Sampling,
    generate_replies,
    judge_replies,
    prepare,
    record_judge,
)
from emostage.evaluation.rundir import RunConfig, RunDir
from emostage.evaluation.runner import StepResult
from emostage.evaluation.systems import parse_systems
from emostage.languages import Language
from emostage.models.invoke import CallPolicy
from emostage.models.source import build_chat_model, preflight, resolve_backend

if TYPE_CHECKING:
    from emostage.evaluation.report import ReportFiles

T = TypeVar("T")


def parse_languages(text: str) -> list[Language]:
    """`ja`, or several as `ja,zh`, in order and without repeats.

    Raises:
        InputError: an unknown code.
    """
    wanted = [code.strip() for code in text.split(",") if code.strip()]
    if not wanted or any(code not in get_args(Language) for code in wanted):
        raise InputError(f"Unknown --lang {text!r}; use ja, zh, en, or several like ja,zh.")
    return cast(list[Language], list(dict.fromkeys(wanted)))


@dataclass(frozen=True)
class RunPlan:
    """What `eval run` was asked to do."""

    out_dir: Path
    data: Path
    languages: str
    systems: str
    n: int
    max_dialogues: int | None
    seed: int
    concurrency: int
    taxonomy: str

    def sampling(self) -> Sampling:
        """The examples this plan draws."""
        languages = parse_languages(self.languages)
        return Sampling(str(self.data), languages, self.n, self.seed, self.max_dialogues)


def draw(plan: RunPlan) -> tuple[list[Example], list[str]]:
    """The plan's examples and the JSON files skipped as not dialogues, before any model call.

    Raises:
        InputError: bad data, counts or languages, or unknown systems.
    """
    parse_systems(plan.systems)
    return plan.sampling().draw()


def generate(
    plan: RunPlan, stage: EmoStage, examples: list[Example], console: Console
) -> tuple[RunConfig, StepResult]:
    """Record the run's settings (or check a resumed run's) and write every system's reply."""
    chosen = parse_systems(plan.systems)
    target = RunDir(plan.out_dir)
    config = prepare(
        target,
        plan.sampling(),
        examples,
        taxonomy=plan.taxonomy,
        systems=chosen,
        generator=stage.context,
    )
    console.print(f"{config.examples} examples × {len(chosen)} systems in {plan.out_dir}")
    step = generate_replies(target, stage, chosen, concurrency=plan.concurrency, console=console)
    return config, resumable(step)


def judge(
    out_dir: Path, concurrency: int, settings: dict[str, Any], console: Console
) -> tuple[str, StepResult, StepResult]:
    """Score every reply and compare each system with the baseline, in both orders.

    Returns:
        `auto`'s note on the judge's backend (or ""), and the scoring and pairing results.
    """
    target = RunDir(out_dir)
    target.load_config()
    context, note = resolve_backend(judge_context(settings))
    preflight(context)
    record_judge(target, context)
    judge = Judge(build_chat_model(context), CallPolicy.of(context), context)
    # The judge reads client text outside the graph: the same no-tracing rule holds here.
    with tracing_context(enabled=None if context.allow_tracing else False):
        scored, compared = resumable(
            judge_replies(target, judge, concurrency=concurrency, console=console)
        )
    return note, scored, compared


def judge_context(settings: dict[str, Any]) -> Context:
    """The judge's settings (deterministic: temperature 0); checked before any run starts.

    Raises:
        ConfigError: an unknown backend or another invalid setting.
    """
    return Context(**settings, temperature=0.0)


def report(out_dir: Path) -> ReportFiles:
    """Write `report.md`, the plots and `report.html` into the run's `report/` folder.

    Raises:
        ConfigError: the `eval` extra (metrics and plotting libraries) is not installed.
    """
    try:  # metrics and plotting libraries load only when a report is written
        from emostage.evaluation.report import write_report
    except ImportError as exc:
        raise ConfigError(f"The report needs {exc.name}: pip install 'emostage[eval]'.") from None
    return write_report(RunDir(out_dir))


def resumable(step: Coroutine[Any, Any, T]) -> T:
    """Run a step; on a model outage, say that finished records are kept.

    Raises:
        ModelUnavailableError: the model went away; the message says how to resume.
    """
    try:
        return asyncio.run(step)
    except ModelUnavailableError as exc:
        raise ModelUnavailableError(
            f"{exc} Finished records are kept: run the same command again to resume."
        ) from None
