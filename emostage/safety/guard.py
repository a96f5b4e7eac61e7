"""An optional third layer: a guard model's verdict on the client's latest message.

Guard models (Llama Guard 3, Qwen3Guard) are classifiers served like chat models: their
chat template wraps the message in their own moderation prompt, and they answer with a
verdict in a fixed format. Each family has an adapter here: which messages to send and how
to read the verdict. A verdict that cannot be read counts as no finding: the guard can only
raise the level, like the other layers, and never breaks a turn.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.messages import BaseMessage, HumanMessage

from emostage.errors import ConfigError
from emostage.safety.assessment import RiskAssessment

# Llama Guard 3 hazard codes (MLCommons taxonomy) that mean danger to a person.
LLAMA_GUARD_CRISIS = {"S11": "self_harm (guard)", "S1": "violent_crimes (guard)"}
QWEN3GUARD_CRISIS = {"suicide & self-harm": "self_harm (guard)", "violent": "violence (guard)"}


@dataclass(frozen=True)
class GuardAdapter:
    """How to ask one family of guard models, and how to read its answer."""

    family: str
    messages: Callable[[str], list[BaseMessage]]
    verdict: Callable[[str], RiskAssessment]


def _as_user_message(text: str) -> list[BaseMessage]:
    # Both families moderate the last user message with their own template; client text
    # travels as message content, never inside a prompt of ours.
    return [HumanMessage(text)]


def _llama_guard_verdict(answer: str) -> RiskAssessment:
    """`safe`, or `unsafe` and a line of codes such as `S11` or `S1,S11`."""
    lines = answer.strip().lower().splitlines()
    if not lines or lines[0].strip() != "unsafe":
        return RiskAssessment()
    codes = re.findall(r"s\d+", " ".join(lines[1:]))
    reasons = [LLAMA_GUARD_CRISIS[c.upper()] for c in codes if c.upper() in LLAMA_GUARD_CRISIS]
    return RiskAssessment(level="crisis", reasons=reasons) if reasons else RiskAssessment()


def _qwen3guard_verdict(answer: str) -> RiskAssessment:
    """`Safety: Safe|Unsafe|Controversial` and `Categories: ...`."""
    text = answer.lower()
    safety = re.search(r"safety:\s*(safe|unsafe|controversial)", text)
    categories = re.search(r"categories:\s*([^\n]*)", text)
    if not safety or safety.group(1) == "safe" or not categories:
        return RiskAssessment()
    named = [c.strip() for c in categories.group(1).split(",")]
    reasons = [QWEN3GUARD_CRISIS[c] for c in named if c in QWEN3GUARD_CRISIS]
    if not reasons:
        return RiskAssessment()
    level = "crisis" if safety.group(1) == "unsafe" else "concern"
    return RiskAssessment(level=level, reasons=reasons)


ADAPTERS = (
    GuardAdapter("llama-guard", _as_user_message, _llama_guard_verdict),
    GuardAdapter("qwen3guard", _as_user_message, _qwen3guard_verdict),
)


def guard_adapter(model: str) -> GuardAdapter:
    """The adapter for a guard model, by its name (`llama-guard3:1b`, `qwen3guard-gen:0.6b`).

    Raises:
        ConfigError: the name belongs to no known guard family.
    """
    key = re.sub(r"[^a-z0-9]", "", model.lower())
    for adapter in ADAPTERS:
        if re.sub(r"[^a-z0-9]", "", adapter.family) in key:
            return adapter
    families = ", ".join(a.family for a in ADAPTERS)
    raise ConfigError(f"Unknown guard model {model!r}; safety_model supports: {families}.")
