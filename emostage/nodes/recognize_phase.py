"""Phase recognition: where does the session stand in the counseling process?"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from emostage.calls import CallPolicy, NodeRun, phase_schema, structured_call
from emostage.context import Context, resolve_context
from emostage.llm import ModelSource
from emostage.messages import TurnView, phase_instruction
from emostage.nodes import Node
from emostage.phases import Taxonomy
from emostage.state import State


def make_recognize_phase(models: ModelSource, taxonomy: Taxonomy) -> Node:
    """A node that classifies the session into one phase of `taxonomy`."""
    schema = phase_schema(tuple(taxonomy.ids))

    def recognize_phase(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        context = resolve_context(runtime.context)
        view = TurnView.of(state.dialogue, context)
        run = NodeRun("recognize_phase", view.number)
        if not context.use_phase or context.mode == "baseline":
            run.skipped = True
            return {"phase": None, "phase_rationale": "", "reports": run.report()}
        # A failed recognition keeps the thread's last phase: sessions rarely jump.
        previous = state.phase if state.phase in taxonomy.ids else taxonomy.default_phase
        instruction = phase_instruction(taxonomy, view.prompts, view.language)
        assessment = structured_call(
            run,
            models.structured(context.for_analysis(), schema),
            schema,
            view.ask(instruction),
            policy=CallPolicy.of(context),
            default=schema(phase=previous),
        )
        return {
            "phase": assessment.phase,
            "phase_rationale": assessment.rationale,
            "reports": run.report(),
        }

    return recognize_phase
