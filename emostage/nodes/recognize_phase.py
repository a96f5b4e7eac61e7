"""Phase recognition: where does the session stand in the counseling process?"""

from __future__ import annotations

from typing import Any

from emostage.analysis import phase_schema
from emostage.nodes import RECOGNIZE_PHASE, Asking, ModelSource, Node, Step, node
from emostage.prompts.phases import Taxonomy
from emostage.state import State


def make_recognize_phase(models: ModelSource, taxonomy: Taxonomy) -> Node:
    """A node that classifies the session into one phase of `taxonomy`."""
    schema = phase_schema(tuple(taxonomy.ids))

    @node(RECOGNIZE_PHASE, models, taxonomy=taxonomy)
    def recognize_phase(state: State, step: Step) -> Asking[dict[str, Any]]:
        context, view = step.context, step.view
        if not context.use_phase or context.mode == "baseline":
            step.run.skipped = True
            return {"phase": None, "phase_rationale": ""}
        # A failed recognition keeps the thread's last phase: sessions rarely jump.
        previous = state.phase if state.phase in taxonomy.ids else taxonomy.default_phase
        assessment = yield from step.structured(
            schema, view.ask(view.prompts.ask_phase), default=schema(phase=previous)
        )
        return {"phase": assessment.phase, "phase_rationale": assessment.rationale}

    return recognize_phase
