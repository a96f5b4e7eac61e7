"""EmoStage: empathetic counselor replies via perspective-taking and phase recognition."""

from emostage.analysis import Perspective, PhaseAssessment
from emostage.api import EmoStage
from emostage.context import Context
from emostage.conversation import Turn, load_dialogue, parse_dialogue
from emostage.errors import (
    ConfigError,
    EmoStageError,
    InputError,
    ModelUnavailableError,
    TaxonomyError,
)
from emostage.graph import build_graph
from emostage.languages import detect_language
from emostage.prompts.phases import Taxonomy, load_taxonomy
from emostage.safety import RiskAssessment, screen_risk
from emostage.state import Reply
from emostage.streaming import ReplyDelta, shown_text

__all__ = [
    "ConfigError",
    "Context",
    "EmoStage",
    "EmoStageError",
    "InputError",
    "ModelUnavailableError",
    "Perspective",
    "PhaseAssessment",
    "Reply",
    "ReplyDelta",
    "RiskAssessment",
    "Taxonomy",
    "TaxonomyError",
    "Turn",
    "build_graph",
    "detect_language",
    "load_dialogue",
    "load_taxonomy",
    "parse_dialogue",
    "screen_risk",
    "shown_text",
]
