"""Join point of the analysis: settles the risk, keeps the safety follow-up, picks a strategy."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from emostage.context import Context, resolve_context
from emostage.nodes import DRAFT_CRISIS, DRAFT_GENERAL, RESPOND_BASELINE, Node, draft_node
from emostage.prompts.phases import Taxonomy
from emostage.safety import RiskAssessment
from emostage.safety.watch import followed_up, seeded_watch
from emostage.state import State


def make_plan_reply(taxonomy: Taxonomy) -> Node:
    """A node that routes a crisis or an open safety follow-up to the crisis strategy."""

    def plan_reply(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        context = resolve_context(runtime.context)
        risk = state.risk or RiskAssessment()
        if state.guard_risk:  # the optional guard model: upward only, like the model's reading
            risk = risk.raised_by(state.guard_risk)
        perspective = state.perspective
        if perspective:
            # Combine upward only: the model can raise the screen's level, never lower it.
            risk = risk.raised_by(perspective.judged_risk())
        client_turns = [t.content for t in state.dialogue if t.role == "client"]
        watch = state.safety_watch
        if watch is None and not state.response:
            # A thread's first turn (or a call with no thread): the dialogue it brings may
            # hold a crisis in its earlier client turns.
            watch = seeded_watch(client_turns[:-1], context.safety_followup_turns)
        watch, risk = followed_up(
            watch,
            risk,
            len(client_turns),
            safety_answered=perspective.safety_reason or "said so"
            if perspective and perspective.safety_answered
            else None,
            quiet_turns=context.safety_followup_turns,
        )
        if risk.level == "crisis" or (watch is not None and watch.open):
            strategy = DRAFT_CRISIS  # whatever the phase or mode
        elif context.mode == "baseline":
            strategy = RESPOND_BASELINE
        elif state.phase in taxonomy.ids:
            strategy = draft_node(state.phase)
        else:  # no phase (ablation, or an id not in the taxonomy): phase-neutral drafting
            strategy = DRAFT_GENERAL
        return {"risk": risk, "strategy": strategy, "safety_watch": watch}

    return plan_reply
