"""Routing functions: which nodes run next."""

from __future__ import annotations

from typing import get_args

from langgraph.runtime import Runtime

from emostage.context import Context, resolve_context
from emostage.nodes import (
    CHECK_SAFETY_MODEL,
    RECOGNIZE_PHASE,
    SCREEN_RISK,
    TAKE_PERSPECTIVE,
    AnalysisNode,
)
from emostage.state import State

ANALYSIS_NODES: list[str] = list(get_args(AnalysisNode))


def route_by_mode(state: State, runtime: Runtime[Context]) -> list[AnalysisNode]:
    """Fan out to the risk screen and both analyses; the baseline gets the screen only.

    The guard model, when one is set, runs alongside in every mode.
    """
    context = resolve_context(runtime.context)
    guard: list[AnalysisNode] = [CHECK_SAFETY_MODEL] if context.safety_model else []
    if context.mode == "baseline":
        return [SCREEN_RISK, *guard]
    return [SCREEN_RISK, RECOGNIZE_PHASE, TAKE_PERSPECTIVE, *guard]


def route_by_phase(state: State) -> str:
    """Follow `plan_reply`'s choice: crisis, baseline, a phase's draft node, or the general one."""
    return state.strategy
