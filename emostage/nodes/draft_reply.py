"""Drafting: the counselor's next message, written with one phase's strategy."""

from __future__ import annotations

from typing import Any

from emostage.analysis import PhaseAssessment
from emostage.nodes import (
    DRAFT_GENERAL,
    Asking,
    ModelSource,
    Node,
    Step,
    draft_node,
    drafted,
    node,
)
from emostage.prompts.messages import draft_instruction
from emostage.prompts.phases import Taxonomy
from emostage.state import State


def make_draft_reply(
    models: ModelSource, taxonomy: Taxonomy, phase: str | None, shows_reply: bool
) -> Node:
    """A draft node for `phase`, or the phase-neutral one when `phase` is None.

    With `shows_reply`, the draft is shown to the client as it is written.
    """

    @node(
        draft_node(phase) if phase else DRAFT_GENERAL,
        models,
        taxonomy=taxonomy,
        shows_reply=shows_reply,
    )
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
        drafts = yield from step.drafts(view.ask(instruction), fallback=view.prompts.fallback_reply)
        return drafted(step, drafts[0], candidates=drafts)

    return draft_reply
