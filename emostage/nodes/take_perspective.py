"""Perspective-taking: what the client feels, thinks and needs, seen from their side."""

from __future__ import annotations

from typing import Any

from emostage.models.ask import ANALYSIS_SHARE, structured_call
from emostage.models.invoke import Asking, CallPolicy
from emostage.models.source import ModelSource
from emostage.nodes import TAKE_PERSPECTIVE, Node, Step, node
from emostage.prompts.messages import perspective_instruction
from emostage.state import Perspective, State


def make_take_perspective(models: ModelSource) -> Node:
    """A node that infers the client's `Perspective`."""

    @node(TAKE_PERSPECTIVE)
    def take_perspective(state: State, step: Step) -> Asking[dict[str, Any]]:
        context = step.context
        if not context.use_perspective or context.mode == "baseline":
            step.run.skipped = True
            return {"perspective": None}
        perspective = yield from structured_call(
            step.run,
            models.structured(context.for_analysis(), Perspective),
            Perspective,
            step.view.ask(perspective_instruction(step.view.prompts)),
            policy=CallPolicy.of(context, turn_share=ANALYSIS_SHARE),
            default=Perspective(),
        )
        return {"perspective": perspective}

    return take_perspective
