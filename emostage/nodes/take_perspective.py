"""Perspective-taking: what the client feels, thinks and needs, seen from their side."""

from __future__ import annotations

from typing import Any

from emostage.analysis import Perspective
from emostage.nodes import TAKE_PERSPECTIVE, Asking, ModelSource, Node, Step, node
from emostage.prompts.phases import Taxonomy
from emostage.state import State


def make_take_perspective(models: ModelSource, taxonomy: Taxonomy) -> Node:
    """A node that infers the client's `Perspective` (its prompt lists `taxonomy` too)."""

    @node(TAKE_PERSPECTIVE, models, taxonomy=taxonomy)
    def take_perspective(state: State, step: Step) -> Asking[dict[str, Any]]:
        context = step.context
        if not context.use_perspective or context.mode == "baseline":
            step.run.skipped = True
            return {"perspective": None}
        perspective = yield from step.structured(
            Perspective, step.view.ask(step.view.prompts.ask_perspective), default=Perspective()
        )
        return {"perspective": perspective}

    return take_perspective
