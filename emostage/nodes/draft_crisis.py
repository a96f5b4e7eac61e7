"""Crisis drafting: warmth, safety, resources, and an open door.

Three cases, one node, as `plan_reply` leaves the risk:
- the client's own danger now: ask directly and gently whether they are safe right now;
- another person's danger (`subject="other"`): help the client support that person, with
  resources they can share; the client is not asked whether *they* are safe;
- a carried-over follow-up (`carried_from_turn`, no new crisis sign): return gently to
  the safety question that is still open.
"""

from __future__ import annotations

from typing import Any

from emostage.errors import ModelUnavailableError
from emostage.nodes import DRAFT_CRISIS, Asking, ModelSource, Node, Step, drafted, node
from emostage.prompts import PromptSet
from emostage.prompts.phases import Taxonomy
from emostage.safety import Resource, RiskAssessment, crisis_resources
from emostage.state import State


def make_draft_crisis(models: ModelSource, taxonomy: Taxonomy, shows_reply: bool) -> Node:
    """A node that answers a crisis turn, with or without a working model.

    With `shows_reply`, the message is shown as it is written; the resources follow it.
    """

    @node(DRAFT_CRISIS, models, taxonomy=taxonomy, shows_reply=shows_reply)
    def draft_crisis(state: State, step: Step) -> Asking[dict[str, Any]]:
        view = step.view
        instruction, fallback, header = crisis_texts(view.prompts, state.risk or RiskAssessment())
        try:
            drafts = yield from step.drafts(view.ask(instruction), fallback=fallback)
        except ModelUnavailableError as exc:
            # A crisis turn always gets an answer, model or not.
            step.run.fallback = f"model unavailable ({type(exc).__name__}): fixed crisis reply"
            drafts = [fallback]
        appendix, resources = crisis_appendix(step, header)
        return drafted(step, drafts[0], appendix, resources, candidates=drafts)

    return draft_crisis


def crisis_appendix(step: Step, header: str) -> tuple[str, list[Resource]]:
    """The crisis resources to append to a reply, under `header`, and as data.

    Contacts are appended verbatim, never written by the model: numbers stay exact. A
    table that had to fall back to the language's default is noted as a fallback.
    """
    context, view = step.context, step.view
    table = crisis_resources(view.language, context.locale, context.crisis_resources)
    if table.warning:
        step.run.fallback = "; ".join(filter(None, [step.run.fallback, table.warning]))
    lines = [f"- {r.name}: {r.contact}" for r in table.resources]
    return "\n".join([header, *lines]), list(table.resources)


def crisis_texts(prompts: PromptSet, risk: RiskAssessment) -> tuple[str, str, str]:
    """Instruction, fixed fallback reply and resources header for this kind of crisis turn."""
    if risk.subject == "other":
        return (
            prompts.draft_crisis_other,
            prompts.crisis_other_fallback.strip(),
            prompts.crisis_other_resources_header,
        )
    if risk.level != "crisis" and risk.carried_from_turn is not None:
        return (
            prompts.draft_safety_followup,
            prompts.crisis_fallback.strip(),
            prompts.crisis_resources_header,
        )
    return prompts.draft_crisis, prompts.crisis_fallback.strip(), prompts.crisis_resources_header
