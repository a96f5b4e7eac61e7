"""Rewriting: the counselor's own draft, improved for empathy and the phase, changes listed.

As HAILEY does for peer supporters, the counselor writes and the model edits: the draft
stays theirs, changed as little as it can be, and each change is named. The rewrite sees
what a draft node sees (the phase strategy, the perspective, the analysis); on a crisis
turn it gets the crisis strategy, and the crisis resources follow it verbatim. When no
usable rewrite comes, the counselor's draft goes on unchanged (a recorded fallback).
"""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.messages import HumanMessage
from pydantic import BaseModel, Field, StringConstraints, field_validator

from emostage.analysis import PhaseAssessment
from emostage.nodes import REWRITE_DRAFT, Asking, ModelSource, Node, Step, drafted, node
from emostage.nodes.draft_crisis import crisis_appendix, crisis_texts
from emostage.prompts.messages import phase_strategy, quoted, with_analysis
from emostage.prompts.phases import Taxonomy
from emostage.safety import RiskAssessment, Settled
from emostage.state import State
from emostage.streaming import clean_reply

MAX_CHANGES = 4
REPLY_CHARS = 1200
CHANGE_CHARS = 160


class Rewrite(BaseModel):
    """The model's rewrite: the new message and what changed."""

    reply: str = Field(max_length=REPLY_CHARS, description="The improved message.")
    changes: list[Annotated[str, StringConstraints(max_length=CHANGE_CHARS)]] = Field(
        default_factory=list, max_length=MAX_CHANGES, description="What changed, and why."
    )

    @field_validator("changes", mode="before")
    @classmethod
    def _first_changes(cls, value: Any) -> Any:
        """Keep the first `MAX_CHANGES`: one note too many is no reason to lose the rewrite."""
        return value[:MAX_CHANGES] if isinstance(value, list) else value


def make_rewrite_draft(models: ModelSource, taxonomy: Taxonomy) -> Node:
    """A node that rewrites the counselor's draft (`State.counselor_draft`)."""

    @node(REWRITE_DRAFT, models, taxonomy=taxonomy)
    def rewrite_draft(state: State, step: Step) -> Asking[dict[str, Any]]:
        view, draft = step.view, state.counselor_draft.strip()
        risk = state.risk or RiskAssessment()
        crisis = Settled(risk, state.safety_watch).crisis  # as plan_reply decides it
        if crisis:
            strategy, _, header = crisis_texts(view.prompts, risk)
        else:
            phase = state.phase if state.phase in taxonomy.ids else None
            strategy = phase_strategy(view.prompts, taxonomy, view.language, phase)
        assessment = (
            PhaseAssessment(phase=state.phase, rationale=state.phase_rationale)
            if state.phase
            else None  # no phase recognized (an ablation, or baseline mode)
        )
        request = with_analysis(
            strategy, view.prompts, assessment, state.perspective, view.prompts.rewrite
        )
        # The counselor's words travel as their own message, quoted: never in a template.
        quoted_draft = HumanMessage(f"{view.prompts.rewrite_draft_header}\n{quoted(draft)}")
        answer = yield from step.structured(
            Rewrite,
            [*view.ask(request), quoted_draft],
            default=Rewrite(reply=draft),
            drafting=True,
        )
        message = clean_reply(answer.reply, view.labels)
        if not message and step.run.fallback is None:
            step.run.fallback = "an empty rewrite: the draft goes unchanged"
        message = message or draft
        if message == draft and answer.changes:
            answer.changes = []  # nothing changed, whatever the notes say
        # A rewrite is the counselor's own reviewed draft: delivered as drafted.
        if not crisis:
            return drafted(step, message, changes=answer.changes, unreviewed=True)
        appendix, resources = crisis_appendix(step, header)
        return drafted(step, message, appendix, resources, changes=answer.changes, unreviewed=True)

    return rewrite_draft
