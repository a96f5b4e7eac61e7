"""Prompt texts, one YAML file per language under `emostage/prompts/<lang>/`."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel

from emostage.analysis import SupportNeed
from emostage.languages import Language


class RoleLabels(BaseModel):
    """How speakers are named in the transcript."""

    client: str
    counselor: str


class PerspectiveLabels(BaseModel):
    """Headings used when the perspective is shown to the drafting call."""

    emotions: str
    situation: str
    thoughts: str
    support_needs: str
    unspoken_needs: str


class PromptSet(BaseModel):
    """Every text EmoStage sends to the model, in one language."""

    labels: RoleLabels
    persona: str
    standing_tasks: str
    ask_phase: str
    ask_perspective: str
    transcript_header: str
    omitted_turns: str
    recognize_phase: str
    take_perspective: str
    draft: str
    draft_general: str
    draft_rules: str
    rewrite: str
    rewrite_draft_header: str
    analysis_header: str
    phase_label: str
    perspective_labels: PerspectiveLabels
    support_needs: dict[SupportNeed, str]
    draft_crisis: str
    crisis_resources_header: str
    crisis_fallback: str
    draft_crisis_other: str
    crisis_other_resources_header: str
    crisis_other_fallback: str
    draft_safety_followup: str
    baseline_persona: str
    baseline_instruction: str
    fallback_reply: str
    failure_reply: str
    holding_reply: str
    review_pending: str


@cache
def load_prompts(language: Language) -> PromptSet:
    """The prompt set of one language, read once from package data."""
    return PromptSet.model_validate(_read(language, "prompts.yaml"))


class JudgePrompts(BaseModel):
    """The evaluation judge's texts in one language (see `emostage.evaluation.judge`)."""

    system: str
    reply_header: str
    score_instruction: str
    pair_header_a: str
    pair_header_b: str
    pair_instruction: str


@cache
def load_judge_prompts(language: Language) -> JudgePrompts:
    """The judge's prompt set of one language."""
    return JudgePrompts.model_validate(_read(language, "judge.yaml"))


def _read(language: Language, name: str) -> Any:
    return yaml.safe_load(resources.files(__name__).joinpath(language, name).read_text("utf-8"))
