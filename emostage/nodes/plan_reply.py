"""Join point of the analysis: settles the risk level and picks the drafting strategy."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from emostage.context import Context, resolve_context
from emostage.nodes import DRAFT_CRISIS, DRAFT_GENERAL, RESPOND_BASELINE, Node, draft_node
from emostage.phases import Taxonomy
from emostage.safety import RiskAssessment
from emostage.state import State


def make_plan_reply(taxonomy: Taxonomy) -> Node:
    """A node that routes a crisis to the crisis strategy, else by mode and phase."""

    def plan_reply(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        risk = state.risk or RiskAssessment()
        if state.perspective and state.perspective.risk != "none":
            # Combine upward only: the model can raise the screen's level, never lower it.
            judged = RiskAssessment(level=state.perspective.risk, reasons=["model judgment"])
            risk = risk.raised_by(judged)
        if risk.level == "crisis":
            strategy = DRAFT_CRISIS  # whatever the phase or mode
        elif resolve_context(runtime.context).mode == "baseline":
            strategy = RESPOND_BASELINE
        elif state.phase in taxonomy.ids:
            strategy = draft_node(state.phase)
        else:  # no phase (ablation, or an id not in the taxonomy): phase-neutral drafting
            strategy = DRAFT_GENERAL
        return {"risk": risk, "strategy": strategy}

    return plan_reply
