"""Drafting: the counselor's next message, written with one phase's strategy."""

from __future__ import annotations

from typing import Any

from emostage.models.ask import text_call
from emostage.models.invoke import Asking, CallPolicy
from emostage.models.source import ModelSource
from emostage.nodes import DRAFT_GENERAL, Node, Step, draft_node, drafted, node
from emostage.prompts.messages import draft_instruction
from emostage.prompts.phases import Taxonomy
from emostage.state import PhaseAssessment, State


def make_draft_reply(models: ModelSource, taxonomy: Taxonomy, phase: str | None) -> Node:
    """A draft node for `phase`, or the phase-neutral one when `phase` is None."""

    @node(draft_node(phase) if phase else DRAFT_GENERAL)
    def draft_reply(state: State, step: Step) -> Asking[dict[str, Any]]:
        view = step.view
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
        response = yield from text_call(
            step.run,
            models.get(step.context),
            view.ask(instruction),
            policy=CallPolicy.of(step.context),
            labels=view.labels,
            fallback=view.prompts.fallback_reply,
        )
        return drafted(step, response)

    return draft_reply
