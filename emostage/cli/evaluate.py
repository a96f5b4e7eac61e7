"""`emostage eval`: run, judge, report (or all three), plus the human rating sheet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from emostage.cli.options import (
    Debug,
    ModelChoice,
    TaxonomyOpt,
    build_stage,
    err,
    grouped,
    out,
    run_action,
    say,
)
from emostage.evaluation import commands as steps
from emostage.evaluation.commands import RunPlan
from emostage.evaluation.ratings import import_ratings, write_sheet
from emostage.evaluation.rundir import RunDir
from emostage.evaluation.runner import StepResult
from emostage.evaluation.systems import SYSTEMS

eval_app = typer.Typer(
    help="Compare EmoStage with the baseline and ablations on counseling dialogues.",
    no_args_is_help=True,
)

Out = Annotated[Path, typer.Option("--out", help="Run folder: created, or resumed.")]
Data = Annotated[
    Path, typer.Option(help="KokoroChat JSON folder (searched recursively) or a JSONL file.")
]
Languages = Annotated[str, typer.Option("--lang", help="ja, zh or en; several as ja,zh.")]
Systems = Annotated[str, typer.Option(help="Comma-separated, from: " + ", ".join(SYSTEMS))]
PerDialogue = Annotated[
    int, typer.Option("--n", help="Examples per dialogue, spread over its thirds.")
]
MaxDialogues = Annotated[
    int | None, typer.Option("--dialogues", help="Draw this many dialogues per language.")
]
Seed = Annotated[int, typer.Option(help="Sampling seed; the same seed draws the same examples.")]
Concurrency = Annotated[int, typer.Option(help="Model calls in flight at once.")]
JudgeModel = Annotated[str | None, typer.Option(help="Judge model (default: as the generator).")]
JudgeBackend = Annotated[str | None, typer.Option(help="Judge backend (default: as generator).")]
JudgeModelPath = Annotated[str | None, typer.Option(help="Judge GGUF for a llamacpp judge.")]
JudgeBaseUrl = Annotated[str | None, typer.Option(help="Judge OpenAI-compatible server URL.")]
ALL_SYSTEMS = ",".join(SYSTEMS)


@dataclass(frozen=True)
class SampleChoice:
    """What `eval run` and `eval all` sample, and how many calls run at once."""

    data: Data
    lang: Languages = "ja"
    systems: Systems = ALL_SYSTEMS
    n: PerDialogue = 3
    dialogues: MaxDialogues = None
    seed: Seed = 0
    concurrency: Concurrency = 2
    taxonomy: TaxonomyOpt = "ivey"

    def plan(self, out_dir: Path) -> RunPlan:
        """The run these options ask for, into `out_dir`."""
        return RunPlan(
            out_dir, self.data, self.lang, self.systems, self.n, self.dialogues, self.seed,
            self.concurrency, self.taxonomy,
        )  # fmt: skip


@dataclass(frozen=True)
class JudgeChoice:
    """Which model judges; each unset option is the generator's."""

    judge_model: JudgeModel = None
    judge_backend: JudgeBackend = None
    judge_model_path: JudgeModelPath = None
    judge_base_url: JudgeBaseUrl = None

    def settings(self) -> dict[str, str]:
        """The options given, as `Context` fields."""
        return ModelChoice(
            self.judge_model, self.judge_backend, self.judge_model_path, self.judge_base_url
        ).settings()


@eval_app.command()
@grouped
def run(
    out_dir: Out,
    sample: SampleChoice,
    *,
    chosen: ModelChoice,
    debug: Debug = False,
) -> None:
    """Sample examples and write every system's reply (resumes an interrupted run)."""
    run_action(debug, lambda: _generate(sample.plan(out_dir), chosen.settings()))


@eval_app.command()
@grouped
def judge(
    out_dir: Out,
    concurrency: Concurrency = 2,
    *,
    judged: JudgeChoice,
    debug: Debug = False,
) -> None:
    """Score every reply and compare each system with the baseline, in both orders."""
    run_action(debug, lambda: _judge(out_dir, concurrency, judged.settings()))


@eval_app.command()
def report(out_dir: Out, debug: Debug = False) -> None:
    """Write report.md, the PNG plots and report.html into RUNDIR/report/."""
    run_action(debug, lambda: _report(out_dir))


@eval_app.command("all")
@grouped
def run_all(
    out_dir: Out,
    sample: SampleChoice,
    *,
    chosen: ModelChoice,
    judge: JudgeChoice,
    debug: Debug = False,
) -> None:
    """Run, judge and report in one go; the judge defaults to the generator's settings."""
    generator = chosen.settings()
    judged = generator | judge.settings()
    plan = sample.plan(out_dir)

    def action() -> None:
        steps.judge_context(judged)  # a bad judge setting fails now, not after generation
        _generate(plan, generator)
        _judge(out_dir, sample.concurrency, judged)
        _report(out_dir)

    run_action(debug, action)


@eval_app.command()
def sheet(
    out_dir: Out,
    seed: Seed = 0,
    debug: Debug = False,
) -> None:
    """Write a blinded rating sheet for human counselors (and its key, kept apart)."""

    def action() -> None:
        target = RunDir(out_dir)
        sheet_path, key_path = out_dir / "human" / "sheet.csv", out_dir / "human" / "key.csv"
        count = write_sheet(target, sheet_path, key_path, seed)
        say(out, f"{count} replies to rate in {sheet_path}")
        say(err, f"the key is {key_path}: keep it from the raters", "dim")

    run_action(debug, action)


@eval_app.command("import-ratings")
def import_ratings_command(
    out_dir: Out,
    ratings: Annotated[Path, typer.Argument(help="A rater's filled-in sheet.csv.")],
    rater: Annotated[str, typer.Option(help="Who rated (keeps raters apart).")],
    debug: Debug = False,
) -> None:
    """Add a rater's filled-in sheet to the run; the report then shows human ratings."""

    def action() -> None:
        added = import_ratings(RunDir(out_dir), ratings, out_dir / "human" / "key.csv", rater)
        say(out, f"{added} new ratings from {rater}")

    run_action(debug, action)


def _generate(plan: RunPlan, generator: dict[str, Any]) -> None:
    examples, skipped = steps.draw(plan)  # bad data fails here, before any model is contacted
    if skipped:
        more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        names = ", ".join(skipped[:3]) + more
        say(err, f"skipped {len(skipped)} JSON file(s) with no dialogue: {names}")
    stage = build_stage(ModelChoice(**generator), taxonomy=plan.taxonomy)
    _, generated = steps.generate(plan, stage, examples, err)
    _summary("generate", generated, RunDir(plan.out_dir).generations.path)


def _judge(out_dir: Path, concurrency: int, settings: dict[str, Any]) -> None:
    note, scored, compared = steps.judge(out_dir, concurrency, settings, err)
    if note:
        say(err, note, "yellow")
    _summary("judge scores", scored, RunDir(out_dir).scores.path)
    _summary("judge pairs", compared, RunDir(out_dir).pairs.path)


def _report(out_dir: Path) -> None:
    files = steps.report(out_dir)
    say(out, f"report: {files.markdown}  ·  {files.html}  ·  {len(files.plots)} plots")


def _summary(step: str, result: StepResult, path: Path) -> None:
    say(
        err,
        f"{step}: {result.done} new, {result.skipped} already done, "
        f"{len(result.failed)} failed -> {path}",
    )
    for failure in result.failed:
        say(err, f"failed {failure}", "red")
    if result.failed:
        raise typer.Exit(1)
