"""Drafting: the counselor's next message, written with one phase's strategy."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from emostage.calls import CallPolicy, NodeRun, text_call
from emostage.context import Context, resolve_context
from emostage.llm import ModelSource
from emostage.messages import TurnView, draft_instruction
from emostage.nodes import Node
from emostage.nodes.finish import finish_turn
from emostage.phases import Taxonomy
from emostage.state import PhaseAssessment, State


def make_draft_reply(models: ModelSource, taxonomy: Taxonomy, phase: str | None) -> Node:
    """A draft node for `phase`, or the phase-neutral one when `phase` is None."""
    node_name = f"draft_{phase or 'general'}"

    def draft_reply(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        context = resolve_context(runtime.context)
        view = TurnView.of(state.dialogue, context)
        run = NodeRun(node_name, view.number)
        assessment = (
            PhaseAssessment(phase=state.phase, rationale=state.phase_rationale)
            if state.phase
            else None
        )
        instruction = draft_instruction(
            view.prompts,
            taxonomy=taxonomy,
            language=view.language,
            phase=phase,
            assessment=assessment,
            perspective=state.perspective,
        )
        response = text_call(
            run,
            models.get(context),
            view.ask(instruction),
            policy=CallPolicy.of(context),
            labels=view.labels,
            fallback=view.prompts.fallback_reply,
        )
        return finish_turn(view, response, run, runtime)

    draft_reply.__name__ = node_name
    return draft_reply
