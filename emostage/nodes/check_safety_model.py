"""The optional guard layer: a guard model's verdict, in parallel with the analysis."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from emostage.models.invoke import ANALYSIS_SHARE
from emostage.nodes import CHECK_SAFETY_MODEL, Asking, ModelSource, Node, Step, node
from emostage.safety.guard import guard_adapter
from emostage.state import State


def make_check_safety_model(models: ModelSource) -> Node:
    """A node that asks `Context.safety_model` about the client's latest turn."""

    @node(CHECK_SAFETY_MODEL, models)
    def check_safety_model(state: State, step: Step) -> Asking[dict[str, Any]]:
        context = step.context
        if not context.safety_model:
            step.run.skipped = True
            return {"guard_risk": None}
        adapter = guard_adapter(context.safety_model)
        guard = replace(context, model=context.safety_model, temperature=0.0, max_tokens=32)
        answer = yield from step.text(
            adapter.messages(step.view.turns[-1].content),
            fallback="",
            settings=guard,
            labels=(),
            share=ANALYSIS_SHARE,
        )
        if not answer:
            step.run.fallback = (step.run.fallback or "no verdict") + ": no guard finding"
        return {"guard_risk": adapter.verdict(answer)}

    return check_safety_model
