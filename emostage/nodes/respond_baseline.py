"""Baseline: one plain counselor call, the comparison point for evaluation."""

from __future__ import annotations

from typing import Any

from emostage.models.ask import text_call
from emostage.models.invoke import Asking, CallPolicy
from emostage.models.source import ModelSource
from emostage.nodes import RESPOND_BASELINE, Node, Step, drafted, node
from emostage.prompts.messages import baseline_messages
from emostage.state import State


def make_respond_baseline(models: ModelSource) -> Node:
    """A node that answers with no perspective-taking and no phase."""

    @node(RESPOND_BASELINE)
    def respond_baseline(state: State, step: Step) -> Asking[dict[str, Any]]:
        context, view = step.context, step.view
        response = yield from text_call(
            step.run,
            models.get(context),
            baseline_messages(view.turns, view.prompts, context),
            policy=CallPolicy.of(context),
            labels=view.labels,
            fallback=view.prompts.fallback_reply,
        )
        update = drafted(step, response)
        return {**update, "phase": None, "phase_rationale": "", "perspective": None}

    return respond_baseline
