"""Join point of the analysis: settles the risk (`emostage.safety`), then picks a strategy."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from emostage.context import Context, resolve_context
from emostage.nodes import (
    DRAFT_CRISIS,
    DRAFT_GENERAL,
    RESPOND_BASELINE,
    REWRITE_DRAFT,
    Node,
    draft_node,
)
from emostage.prompts.phases import Taxonomy
from emostage.safety import RiskAssessment, settle_risk
from emostage.state import State


def make_plan_reply(taxonomy: Taxonomy) -> Node:
    """A node that routes a crisis turn to the crisis strategy, any other to its phase's.

    A turn that brings the counselor's own draft is rewritten instead (`rewrite_draft`).
    """

    def plan_reply(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        context = resolve_context(runtime.context)
        settled = settle_risk(
            state.risk or RiskAssessment(),
            client_turns=[t.content for t in state.dialogue if t.role == "client"],
            watch=state.safety_watch,
            first_turn=not state.response,
            quiet_turns=context.safety_followup_turns,
            model=state.perspective.risk_reading() if state.perspective else None,
            guard=state.guard_risk,
        )
        if state.counselor_draft.strip():
            strategy = REWRITE_DRAFT  # the counselor's own words, with the crisis if there is one
        elif settled.crisis:
            strategy = DRAFT_CRISIS  # whatever the phase or mode
        elif context.mode == "baseline":
            strategy = RESPOND_BASELINE
        elif state.phase in taxonomy.ids:
            strategy = draft_node(state.phase)
        else:  # no phase (ablation, or an id not in the taxonomy): phase-neutral drafting
            strategy = DRAFT_GENERAL
        return {"risk": settled.risk, "strategy": strategy, "safety_watch": settled.watch}

    return plan_reply
