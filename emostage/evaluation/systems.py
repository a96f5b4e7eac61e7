"""The systems an evaluation compares, all on the same generator model and backend."""

from __future__ import annotations

import time
from typing import Any, Literal, get_args

from langchain_core.callbacks import get_usage_metadata_callback
from langchain_core.messages.ai import UsageMetadata

from emostage.api import EmoStage
from emostage.errors import InputError
from emostage.evaluation.examples import Example

System = Literal["baseline", "perspective_only", "phase_only", "emostage", "reference"]
SYSTEMS: tuple[System, ...] = get_args(System)
BASELINE: System = "baseline"

# Each model-backed system is EmoStage with parts switched off; `reference` is the human turn.
SETTINGS: dict[System, dict[str, Any]] = {
    "baseline": {"mode": "baseline"},
    "perspective_only": {"mode": "emostage", "use_phase": False},
    "phase_only": {"mode": "emostage", "use_perspective": False},
    "emostage": {"mode": "emostage"},
}


def parse_systems(names: str) -> list[System]:
    """Systems from a comma-separated list, in canonical order.

    Raises:
        InputError: an unknown system name.
    """
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    if unknown := [name for name in wanted if name not in SYSTEMS]:
        raise InputError(f"Unknown system {unknown[0]!r}; choose from: {', '.join(SYSTEMS)}.")
    if not wanted:
        raise InputError(f"Give at least one system: {', '.join(SYSTEMS)}.")
    return [name for name in SYSTEMS if name in wanted]


async def generate(stage: EmoStage, example: Example, system: System) -> dict[str, Any]:
    """One system's reply to one example, with what it cost."""
    if system == "reference":
        return {"reply": example.reference, "phase": None, "risk": None, "fallbacks": []} | _cost()
    started = time.perf_counter()
    with get_usage_metadata_callback() as usage:  # per task: asyncio copies the context
        reply = await stage.arespond(example.context, language=example.language, **SETTINGS[system])
    seconds = time.perf_counter() - started
    return {
        "reply": reply.response,
        "phase": reply.phase,
        "risk": reply.risk.level,
        "fallbacks": reply.diagnostics.fallbacks,
    } | _cost(
        calls=sum(node.model_calls for node in reply.diagnostics.nodes),
        seconds=seconds,
        **token_totals(usage.usage_metadata),
    )


def token_totals(usage: dict[str, UsageMetadata]) -> dict[str, int]:
    """Prompt and completion tokens summed over the models that were called."""
    return {
        "input_tokens": sum(u["input_tokens"] for u in usage.values()),
        "output_tokens": sum(u["output_tokens"] for u in usage.values()),
    }


def _cost(
    calls: int = 0, input_tokens: int = 0, output_tokens: int = 0, seconds: float = 0.0
) -> dict[str, Any]:
    return {
        "calls": calls,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "seconds": round(seconds, 3),
    }
