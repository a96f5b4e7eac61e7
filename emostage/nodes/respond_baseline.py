"""Baseline: one plain counselor call, the comparison point for evaluation."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from emostage.calls import CallPolicy, NodeRun, text_call
from emostage.context import Context, resolve_context
from emostage.llm import ModelSource
from emostage.messages import TurnView, baseline_messages
from emostage.nodes import Node
from emostage.nodes.finish import finish_turn
from emostage.state import State


def make_respond_baseline(models: ModelSource) -> Node:
    """A node that answers with no perspective-taking and no phase."""

    def respond_baseline(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        context = resolve_context(runtime.context)
        view = TurnView.of(state.dialogue, context)
        run = NodeRun("respond_baseline", view.number)
        response = text_call(
            run,
            models.get(context),
            baseline_messages(view.turns, view.prompts, context),
            policy=CallPolicy.of(context),
            labels=view.labels,
            fallback=view.prompts.fallback_reply,
        )
        update = finish_turn(view, response, run, runtime)
        return {**update, "phase": None, "phase_rationale": "", "perspective": None}

    return respond_baseline
