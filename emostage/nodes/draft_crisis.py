"""Crisis drafting: warmth, a direct question about safety, resources, and an open door."""

from __future__ import annotations

from typing import Any

from emostage.calls import CallPolicy, text_call
from emostage.errors import ModelUnavailableError
from emostage.llm import ModelSource
from emostage.nodes import DRAFT_CRISIS, Node, Step, node
from emostage.nodes.finish import finish_turn
from emostage.safety import crisis_resources
from emostage.state import State


def make_draft_crisis(models: ModelSource) -> Node:
    """A node that answers a crisis turn, with or without a working model."""

    @node(DRAFT_CRISIS)
    def draft_crisis(state: State, step: Step) -> dict[str, Any]:
        context, view = step.context, step.view
        fallback = view.prompts.crisis_fallback.strip()
        try:
            message = text_call(
                step.run,
                models.get(context),
                view.ask(view.prompts.draft_crisis),
                policy=CallPolicy.of(context),
                labels=view.labels,
                fallback=fallback,
            )
        except ModelUnavailableError as exc:
            # A crisis turn always gets an answer, model or not.
            step.run.fallback = f"model unavailable ({type(exc).__name__}): fixed crisis reply"
            message = fallback
        resources = crisis_resources(view.language, context.locale, context.crisis_resources)
        lines = [f"- {r.name}: {r.contact}" for r in resources]
        # Contacts are appended verbatim, never written by the model: numbers stay exact.
        response = "\n\n".join([message, "\n".join([view.prompts.crisis_resources_header, *lines])])
        return finish_turn(step, response)

    return draft_crisis
