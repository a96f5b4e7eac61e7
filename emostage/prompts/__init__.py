"""Prompt texts, one YAML file per language under `emostage/prompts/<lang>/`."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel

from emostage.phases import Language
from emostage.state import SupportNeed


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
    transcript_header: str
    omitted_turns: str
    recognize_phase: str
    take_perspective: str
    draft: str
    draft_general: str
    draft_rules: str
    analysis_header: str
    phase_label: str
    perspective_labels: PerspectiveLabels
    support_needs: dict[SupportNeed, str]
    draft_crisis: str
    crisis_resources_header: str
    crisis_fallback: str
    baseline_persona: str
    baseline_instruction: str
    fallback_reply: str


@cache
def load_prompts(language: Language) -> PromptSet:
    """The prompt set of one language, read once from package data."""
    text = resources.files(__name__).joinpath(language, "prompts.yaml").read_text("utf-8")
    return PromptSet.model_validate(yaml.safe_load(text))
