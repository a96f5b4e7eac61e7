"""The optional guard layer: a guard model's verdict, in parallel with the analysis."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from emostage.models.ask import ANALYSIS_SHARE, text_call
from emostage.models.invoke import Asking, CallPolicy
from emostage.models.source import ModelSource
from emostage.nodes import CHECK_SAFETY_MODEL, Node, Step, node
from emostage.safety.guard import guard_adapter
from emostage.state import State


def make_check_safety_model(models: ModelSource) -> Node:
    """A node that asks `Context.safety_model` about the client's latest turn."""

    @node(CHECK_SAFETY_MODEL)
    def check_safety_model(state: State, step: Step) -> Asking[dict[str, Any]]:
        context = step.context
        if not context.safety_model:
            step.run.skipped = True
            return {"guard_risk": None}
        adapter = guard_adapter(context.safety_model)
        guard = replace(context, model=context.safety_model, temperature=0.0, max_tokens=32)
        answer = yield from text_call(
            step.run,
            models.get(guard),
            adapter.messages(step.view.turns[-1].content),
            policy=CallPolicy.of(context, turn_share=ANALYSIS_SHARE),
            labels=(),
            fallback="",
        )
        if not answer:
            step.run.fallback = (step.run.fallback or "no verdict") + ": no guard finding"
        return {"guard_risk": adapter.verdict(answer)}

    return check_safety_model
