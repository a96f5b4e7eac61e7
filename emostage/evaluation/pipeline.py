"""The evaluation steps before the report: prepare, generate, judge. Each step resumes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import get_usage_metadata_callback
from langchain_core.messages.ai import UsageMetadata
from rich.console import Console

from emostage.api import EmoStage
from emostage.context import Context
from emostage.errors import InputError
from emostage.evaluation.examples import Example, load_examples
from emostage.evaluation.judge import Judge
from emostage.evaluation.rundir import RunConfig, RunDir, check_same_run, new_config
from emostage.evaluation.runner import StepResult, Task, run_step
from emostage.evaluation.systems import BASELINE, System, generate, token_totals
from emostage.languages import Language
from emostage.models.ask import StructuredAnswer
from emostage.models.source import model_fingerprint
from emostage.prompts.phases import load_taxonomy

ORDERS = ("system_first", "baseline_first")


@dataclass(frozen=True)
class Sampling:
    """Which examples a run draws: from where, in which languages, how many, with what seed."""

    data: str
    languages: list[Language]
    n: int
    seed: int
    max_dialogues: int | None = None

    def draw(self) -> tuple[list[Example], list[str]]:
        """The examples, in language order, and the JSON files skipped as not dialogues.

        Raises:
            InputError: bad counts, or no examples at `data`.
        """
        if self.n < 1:
            raise InputError("--n must be at least 1 example per dialogue.")
        if self.max_dialogues is not None and self.max_dialogues < 1:
            raise InputError("--dialogues must be at least 1.")
        examples: list[Example] = []
        skipped: set[str] = set()
        for language in self.languages:
            found = load_examples(self.data, language, self.n, self.seed, self.max_dialogues)
            examples += found.examples
            skipped.update(found.skipped_files)
        return examples, sorted(skipped)


def prepare(
    run: RunDir,
    sampling: Sampling,
    examples: list[Example],
    *,
    taxonomy: str,
    systems: list[System],
    generator: Context,
) -> RunConfig:
    """Write the examples and `config.json`, or check that a resumed run matches.

    Raises:
        InputError: the folder holds a run with other settings.
    """
    config = new_config(
        data=sampling.data,
        languages=sampling.languages,
        n=sampling.n,
        seed=sampling.seed,
        max_dialogues=sampling.max_dialogues,
        examples=examples,
        taxonomy=load_taxonomy(taxonomy),
        taxonomy_name=taxonomy,
        systems=list(systems),
        generator=model_identity(generator),
    )
    if run.config_file.exists():
        saved = run.load_config()
        check_same_run(saved, config)
        config = saved.model_copy(
            update={"systems": list(dict.fromkeys([*saved.systems, *systems]))}
        )
    else:
        # Examples first, config last: a folder with a config always has all its examples.
        run.examples.path.unlink(missing_ok=True)
        log = run.examples
        for example in examples:
            log.append({"key": example.id, **example.model_dump(mode="json")})
    run.save_config(config)
    return config


def model_identity(context: Context) -> dict[str, Any]:
    """The model and the settings that shape its output."""
    return model_fingerprint(context) | {
        "temperature": context.temperature,
        "max_tokens": context.max_tokens,
    }


async def generate_replies(
    run: RunDir,
    stage: EmoStage,
    systems: list[System],
    *,
    concurrency: int,
    console: Console | None = None,
) -> StepResult:
    """Write each system's reply to each example (skipping those already written)."""

    def task(example: Example, system: System) -> Task:
        async def call() -> dict[str, Any]:
            record = await generate(stage, example, system)
            return {"example": example.id, "system": system, **record}

        return call

    tasks = {f"{e.id}|{s}": task(e, s) for e in run.load_examples() for s in systems}
    return await run_step(
        "generate", tasks, run.generations, concurrency=concurrency, console=console
    )


async def judge_replies(
    run: RunDir, judge: Judge, *, concurrency: int, console: Console | None = None
) -> tuple[StepResult, StepResult]:
    """Score every reply, then compare each system's reply with the baseline's both ways."""
    examples = {e.id: e for e in run.load_examples()}
    replies = {key: r["reply"] for key, r in run.load_generations(examples).items()}
    if not replies:
        raise InputError(f"{run.path} has no replies to judge yet: run `emostage eval run`.")

    def score(example: Example, system: str, reply: str) -> Task:
        async def call() -> dict[str, Any]:
            with get_usage_metadata_callback() as usage:
                answer = await asyncio.to_thread(judge.score, example, reply)
            parsed = answer.parsed.model_dump() if answer.parsed else None
            return _judgment(example, system, answer, usage.usage_metadata, scores=parsed)

        return call

    def compare(example: Example, system: str, order: str) -> Task:
        ours, theirs = replies[example.id, system], replies[example.id, BASELINE]
        first, second = (ours, theirs) if order == "system_first" else (theirs, ours)

        async def call() -> dict[str, Any]:
            with get_usage_metadata_callback() as usage:
                answer = await asyncio.to_thread(judge.compare, example, first, second)
            verdict = answer.parsed
            return _judgment(
                example,
                system,
                answer,
                usage.usage_metadata,
                order=order,
                better=verdict.better if verdict else None,
                justification=verdict.justification if verdict else "",
            )

        return call

    scores = {
        f"{example}|{system}": score(examples[example], system, reply)
        for (example, system), reply in replies.items()
    }
    pairs = {
        f"{example}|{system}|{order}": compare(examples[example], system, order)
        for (example, system) in replies
        if system != BASELINE and (example, BASELINE) in replies
        for order in ORDERS
    }
    scored = await run_step(
        "judge scores", scores, run.scores, concurrency=concurrency, console=console
    )
    compared = await run_step(
        "judge pairs", pairs, run.pairs, concurrency=concurrency, console=console
    )
    return scored, compared


def record_judge(run: RunDir, judge: Context) -> None:
    """Note the judge model in `config.json`; a run keeps one judge.

    Raises:
        InputError: the run was judged by another model.
    """
    config = run.load_config()
    identity = model_identity(judge)
    if config.judge is not None and config.judge != identity:
        raise InputError(
            f"This run was judged by {config.judge.get('model')!r}; judging it with "
            f"{identity.get('model')!r} would mix judges. Use the same judge or a new --out."
        )
    run.save_config(config.model_copy(update={"judge": identity}))


def _judgment(
    example: Example,
    system: str,
    answer: StructuredAnswer[Any],
    usage: dict[str, UsageMetadata],
    **fields: Any,
) -> dict[str, Any]:
    return {
        "example": example.id,
        "system": system,
        **fields,
        "calls": answer.calls,
        "problem": answer.problem,
        **token_totals(usage),
    }
