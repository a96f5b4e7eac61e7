"""Goal 6: many concurrent `arespond` calls on one event loop, against a slow server.

The server answers each request after a fixed latency and has a slot for every request
(`FakeOllama(fault="delay")`), so the only limit left is EmoStage's own: with async nodes,
a waiting turn holds no thread, and 50 turns take about as long as one. The server runs
in a process of its own, as a model server would: in this one, its threads would compete
with the turns for the interpreter.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

from emostage import EmoStage


def concurrent_turns(clients: int = 50, latency_s: float = 1.0, rounds: int = 3) -> dict[str, Any]:
    """Seconds for one turn alone, then for `clients` concurrent turns, and the ratio.

    Each turn is a fresh one-message session (EmoStage's default layout: phase and
    perspective in parallel, then the draft), as from `clients` different people. Both
    figures are the median of `rounds` runs: on two cores, one run varies by a quarter.
    """
    with slow_server(latency_s) as (url, stats):
        stage = EmoStage(ollama_host=url, language="en", locale="en-US")

        async def turn(index: int) -> None:
            await stage.arespond([{"role": "client", "content": f"I can't sleep ({index})."}])

        async def run(count: int) -> float:
            started = time.perf_counter()
            await asyncio.gather(*(turn(i) for i in range(count)))
            return time.perf_counter() - started

        async def measure() -> tuple[float, float]:
            await run(1)  # the first turn builds the model and compiles the screen
            alone = [await run(1) for _ in range(rounds)]
            together = [await run(clients) for _ in range(rounds)]
            return statistics.median(alone), statistics.median(together)

        one, many = asyncio.run(measure())
    return {
        "server latency s": latency_s,
        "concurrent turns": clients,
        "one turn s": round(one, 2),
        "all turns s": round(many, 2),
        "ratio": round(many / one, 2),
        "peak requests in flight": stats["peak_in_flight"],
    }


@contextmanager
def slow_server(latency_s: float) -> Iterator[tuple[str, dict[str, Any]]]:
    """A `FakeOllama` answering after `latency_s`, in another process: its URL, its stats.

    The stats are filled in when the block ends.
    """
    spawn = multiprocessing.get_context("spawn")
    ours, theirs = spawn.Pipe()
    process = spawn.Process(target=_serve, args=(theirs, latency_s), daemon=True)
    process.start()
    stats: dict[str, Any] = {}
    try:
        if not ours.poll(60):  # it died, or hangs: either way, no benchmark
            raise RuntimeError("the simulated server did not start within 60 s")
        yield ours.recv(), stats
        ours.send("stop")
        if ours.poll(10):
            stats.update(ours.recv())
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()


def _serve(pipe: Connection, latency_s: float) -> None:
    from emostage.testing.ollama_server import FakeOllama

    with FakeOllama(fault="delay", delay_s=latency_s) as server:
        pipe.send(server.url)
        pipe.recv()  # "stop"
        pipe.send({"peak_in_flight": server.peak_in_flight, "requests": len(server.requests)})
