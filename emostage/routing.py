"""Routing functions: which nodes run next."""

from __future__ import annotations

from typing import Literal, get_args

from langgraph.runtime import Runtime

from emostage.context import Context, resolve_context
from emostage.state import State

AnalysisNode = Literal["recognize_phase", "take_perspective", "respond_baseline"]
ANALYSIS_NODES: list[str] = list(get_args(AnalysisNode))


def route_by_mode(state: State, runtime: Runtime[Context]) -> list[AnalysisNode]:
    """Fan out to both analyses in parallel, or go straight to the baseline reply."""
    if resolve_context(runtime.context).mode == "baseline":
        return ["respond_baseline"]
    return ["recognize_phase", "take_perspective"]


def route_by_phase(state: State) -> str:
    """Follow the strategy `plan_reply` chose: one draft node per phase, or the general one."""
    return state.strategy
