"""Routing functions: which nodes run next."""

from __future__ import annotations

from typing import Literal, get_args

from langgraph.runtime import Runtime

from emostage.context import Context, resolve_context
from emostage.state import State

AnalysisNode = Literal["screen_risk", "recognize_phase", "take_perspective"]
ANALYSIS_NODES: list[str] = list(get_args(AnalysisNode))


def route_by_mode(state: State, runtime: Runtime[Context]) -> list[AnalysisNode]:
    """Fan out to the risk screen and both analyses; the baseline gets the screen only."""
    if resolve_context(runtime.context).mode == "baseline":
        return ["screen_risk"]
    return ["screen_risk", "recognize_phase", "take_perspective"]


def route_by_phase(state: State) -> str:
    """Follow `plan_reply`'s choice: crisis, baseline, a phase's draft node, or the general one."""
    return state.strategy
