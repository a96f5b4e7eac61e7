"""Baseline: one plain counselor call, the comparison point for evaluation."""

from __future__ import annotations

from typing import Any

from emostage.nodes import RESPOND_BASELINE, Asking, ModelSource, Node, Step, drafted, node
from emostage.prompts.messages import baseline_messages
from emostage.state import State


def make_respond_baseline(models: ModelSource, shows_reply: bool) -> Node:
    """A node that answers with no perspective-taking and no phase (shown as written)."""

    @node(RESPOND_BASELINE, models, shows_reply=shows_reply)
    def respond_baseline(state: State, step: Step) -> Asking[dict[str, Any]]:
        context, view = step.context, step.view
        messages = baseline_messages(view.turns, view.prompts, context)
        response = yield from step.text(messages, fallback=view.prompts.fallback_reply)
        update = drafted(step, response)
        return {**update, "phase": None, "phase_rationale": "", "perspective": None}

    return respond_baseline
