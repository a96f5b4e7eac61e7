"""Run a step's tasks with bounded concurrency, a progress bar, and resumable records."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from emostage.errors import InputError
from emostage.evaluation.records import JsonlLog

Task = Callable[[], Awaitable[dict[str, Any]]]
THREADS_PER_TASK = 4  # a turn's widest step: three analysis nodes at once, plus slack


@dataclass
class StepResult:
    """What a step did: new records, records already there, and tasks that failed."""

    done: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)


async def run_step(
    name: str,
    tasks: Mapping[str, Task],
    log: JsonlLog,
    *,
    concurrency: int,
    console: Console | None = None,
) -> StepResult:
    """Run the tasks whose key is not in `log` yet, appending each record as it finishes.

    At most `concurrency` tasks run at once. A task that fails on its input is reported
    and left for the next run; a model outage stops the step (finished records stay).

    Raises:
        ModelUnavailableError: the model server is down; re-run to resume.
    """
    if concurrency < 1:
        raise InputError("--concurrency must be at least 1.")
    # Each task blocks threads (the graph's sync nodes, parallel analysis calls); the default
    # pool has cpu+4 of them, which would cap concurrency on a small machine.
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=THREADS_PER_TASK * concurrency + 4)
    )
    finished = log.keys()
    todo = {key: task for key, task in tasks.items() if key not in finished}
    result = StepResult(skipped=len(tasks) - len(todo))
    gate = asyncio.Semaphore(concurrency)
    with _progress(console) as progress:
        bar = progress.add_task(name, total=len(todo))

        async def one(key: str, task: Task) -> None:
            async with gate:
                try:
                    record = await task()
                except InputError as exc:
                    result.failed.append(f"{key}: {exc}")
                else:
                    log.append({"key": key, **record})
                    result.done += 1
                progress.advance(bar)

        # A TaskGroup cancels the rest at the first model outage or bug, so nothing hangs.
        try:
            async with asyncio.TaskGroup() as group:
                for key, task in todo.items():
                    group.create_task(one(key, task))
        except BaseExceptionGroup as errors:
            raise errors.exceptions[0] from None
    return result


def _progress(console: Console | None) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=False,
    )
