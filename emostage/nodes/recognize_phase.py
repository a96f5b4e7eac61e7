"""Phase recognition: where does the session stand in the counseling process?"""

from __future__ import annotations

from typing import Any

from emostage.models.ask import ANALYSIS_SHARE, phase_schema, structured_call
from emostage.models.invoke import Asking, CallPolicy
from emostage.models.source import ModelSource
from emostage.nodes import RECOGNIZE_PHASE, Node, Step, node
from emostage.prompts.messages import phase_instruction
from emostage.prompts.phases import Taxonomy
from emostage.state import State


def make_recognize_phase(models: ModelSource, taxonomy: Taxonomy) -> Node:
    """A node that classifies the session into one phase of `taxonomy`."""
    schema = phase_schema(tuple(taxonomy.ids))

    @node(RECOGNIZE_PHASE)
    def recognize_phase(state: State, step: Step) -> Asking[dict[str, Any]]:
        context, view = step.context, step.view
        if not context.use_phase or context.mode == "baseline":
            step.run.skipped = True
            return {"phase": None, "phase_rationale": ""}
        # A failed recognition keeps the thread's last phase: sessions rarely jump.
        previous = state.phase if state.phase in taxonomy.ids else taxonomy.default_phase
        assessment = yield from structured_call(
            step.run,
            models.structured(context.for_analysis(), schema),
            schema,
            view.ask(phase_instruction(taxonomy, view.prompts, view.language)),
            policy=CallPolicy.of(context, turn_share=ANALYSIS_SHARE),
            default=schema(phase=previous),
        )
        return {"phase": assessment.phase, "phase_rationale": assessment.rationale}

    return recognize_phase
