"""Perspective-taking: what the client feels, thinks and needs, seen from their side."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from emostage.calls import CallPolicy, NodeRun, structured_call
from emostage.context import Context, resolve_context
from emostage.llm import ModelSource
from emostage.messages import TurnView, perspective_instruction
from emostage.nodes import Node
from emostage.state import Perspective, State


def make_take_perspective(models: ModelSource) -> Node:
    """A node that infers the client's `Perspective`."""

    def take_perspective(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        context = resolve_context(runtime.context)
        view = TurnView.of(state.dialogue, context)
        run = NodeRun("take_perspective", view.number)
        if not context.use_perspective or context.mode == "baseline":
            run.skipped = True
            return {"perspective": None, "reports": run.report()}
        perspective = structured_call(
            run,
            models.structured(context.for_analysis(), Perspective),
            Perspective,
            view.ask(perspective_instruction(view.prompts)),
            policy=CallPolicy.of(context),
            default=Perspective(),
        )
        return {"perspective": perspective, "reports": run.report()}

    return take_perspective
