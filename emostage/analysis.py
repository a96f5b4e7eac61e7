"""What the analysis nodes ask the model for, and how few tokens the answer takes.

`Perspective` and `PhaseAssessment` are the analysis as EmoStage keeps it: full field
names in the state, the API's `Reply` and the checkpoints. The model writes them in a
compact encoding, because a turn's time on a model server is mostly decoding and the
analysis JSON is most of what a turn decodes:
- short keys (`WIRE_KEYS`): `"feel"` for `emotions`, `"who"` for `risk_subject`; an
  answer is read by either, and EmoStage stores and shows the names;
- codes for the support needs (`NEED_CODES`), one short word each;
- categories as enums (phase, risk level, subject, timeframe) and the safety answer as a
  boolean; free text only where it is meant (feelings, situation, thoughts, needs, reasons).

The schema reaches the model as a grammar (llama.cpp, Ollama's `format`, an OpenAI
server's `response_format`), so a malformed answer is rare. Its bounds cap how long an
answer can be: `answer_token_cap` turns them into the call's token limit, so no answer
that fits the schema is ever cut off.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    AliasGenerator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    create_model,
)

from emostage.safety import ModelReading, RiskLevel, RiskSubject, RiskTimeframe

SupportNeed = Literal[
    "being_heard",
    "validation",
    "clarifying_problem",
    "information",
    "advice",
    "encouragement",
    "action_planning",
]
# What the model writes for each support need: one short word, the same in every language.
NEED_CODES: dict[str, SupportNeed] = {
    "heard": "being_heard",
    "validate": "validation",
    "clarify": "clarifying_problem",
    "info": "information",
    "advice": "advice",
    "encourage": "encouragement",
    "plan": "action_planning",
}
NEED_CODE_OF: dict[SupportNeed, str] = {need: code for code, need in NEED_CODES.items()}
# Bounds of the free text. They reach the model as JSON-schema limits (a grammar), so they
# cap how long an analysis can take to decode, not only what is kept.
SHORT_TEXT_CHARS = 120
EMOTION_NAME_CHARS = 24
MAX_ITEMS = 3


def _clip(limit: int) -> BeforeValidator:
    """Shorten over-long model text instead of rejecting it: small models ramble."""

    def clip(value: Any) -> Any:
        return value[:limit].rstrip() if isinstance(value, str) else value

    return BeforeValidator(clip)


def _first(value: Any) -> Any:
    """Keep the first `MAX_ITEMS` items of an over-long list."""
    return value[:MAX_ITEMS] if isinstance(value, list) else value


def _needs(value: Any) -> Any:
    """The support needs by name, from codes (the model's answer) or names (stored data)."""
    if not isinstance(value, list):
        return value
    return [NEED_CODES.get(item, item) if isinstance(item, str) else item for item in value]


def _clamp_intensity(value: Any) -> Any:
    return min(5, max(1, int(value))) if isinstance(value, int | float) else value


ShortText = Annotated[str, _clip(SHORT_TEXT_CHARS), Field(max_length=SHORT_TEXT_CHARS)]
_NEEDS_SCHEMA = {
    "type": "array",
    "items": {"enum": list(NEED_CODES)},
    "maxItems": MAX_ITEMS,
}
# The key of each field in a model's answer. Fields not named here keep their name.
WIRE_KEYS: dict[str, str] = {
    "emotions": "feel",
    "name": "n",
    "intensity": "i",
    "situation": "sit",
    "thoughts": "view",
    "support_needs": "need",
    "unspoken_needs": "unsaid",
    "risk_reason": "risk_why",
    "risk_subject": "who",
    "risk_timeframe": "when",
    "safety_answered": "safe",
    "safety_reason": "safe_why",
    "rationale": "why",
}


def _short_or_full(name: str) -> AliasChoices:
    """Read a field by its short key (a model's answer) or its name (EmoStage's own data)."""
    return AliasChoices(WIRE_KEYS.get(name, name), name)


# Validation aliases only: the schema a model gets, and what is read, use the short keys;
# what EmoStage stores and shows, and the constructors, use the names.
_WIRE = ConfigDict(alias_generator=AliasGenerator(validation_alias=_short_or_full))


class Emotion(BaseModel):
    """A feeling the client likely has, with its strength."""

    model_config = _WIRE

    name: Annotated[str, _clip(EMOTION_NAME_CHARS)] = Field(max_length=EMOTION_NAME_CHARS)
    # An enum, not a range: grammar converters bound an enum, not always a range.
    intensity: Annotated[
        int, BeforeValidator(_clamp_intensity), WithJsonSchema({"enum": [1, 2, 3, 4, 5]})
    ] = Field(default=3, ge=1, le=5)


class Perspective(BaseModel):
    """The client's situation as seen from the client's side.

    The model must write the perspective and the risk level; the keys after them may be
    left out at their defaults. (Read leniently, every key has a default.)
    """

    model_config = _WIRE | ConfigDict(
        json_schema_extra={"required": ["feel", "sit", "view", "need", "unsaid", "risk"]}
    )

    emotions: Annotated[list[Emotion], BeforeValidator(_first), Field(max_length=MAX_ITEMS)] = (
        Field(default_factory=list)
    )
    situation: ShortText = ""
    thoughts: ShortText = ""
    support_needs: Annotated[
        list[SupportNeed],
        BeforeValidator(_first),
        BeforeValidator(_needs),
        WithJsonSchema(_NEEDS_SCHEMA),
    ] = Field(default_factory=list)
    unspoken_needs: ShortText = ""
    risk: RiskLevel = Field(
        default="none", description="The model's own reading of danger to or from the client."
    )
    risk_reason: ShortText = ""
    risk_subject: RiskSubject = Field(
        default="unclear",
        description="Whose danger: the client's own or another person's.",
    )
    risk_timeframe: RiskTimeframe = Field(
        default="current",
        description="`past`: a resolved event with no current sign.",
    )
    safety_answered: bool = Field(
        default=False,
        description="The client has answered a question about their safety and is safe now.",
    )
    safety_reason: ShortText = ""

    def risk_reading(self) -> ModelReading:
        """The model's reading of danger, for the crisis decision (`emostage.safety`)."""
        answered = (self.safety_reason or "said so") if self.safety_answered else None
        return ModelReading(self.risk, self.risk_subject, self.risk_timeframe, answered)

    def is_empty(self) -> bool:
        """True when nothing was inferred (skipped or fallen back)."""
        return self == Perspective()


class PhaseAssessment(BaseModel):
    """Where the session stands. `phase` is one id of the active taxonomy.

    The model writes its reason first, then the phase: both are required of it.
    """

    model_config = _WIRE | ConfigDict(json_schema_extra={"required": ["why", "phase"]})

    rationale: ShortText = ""
    phase: str


@cache
def phase_schema(phase_ids: tuple[str, ...]) -> type[PhaseAssessment]:
    """A `PhaseAssessment` whose `phase` is constrained to the taxonomy's ids.

    The enum reaches the model as a JSON schema, so a grammar-constrained server can only
    answer with a valid id.
    """
    choice: Any = Literal[phase_ids]  # dynamic Literal: the taxonomy is data
    return create_model("PhaseAssessment", __base__=PhaseAssessment, phase=(choice, ...))


def wire_keys(schema: type[BaseModel]) -> dict[str, str]:
    """Each field's key in the model's answer: `{"situation": "sit", ...}`."""
    return {name: WIRE_KEYS.get(name, name) for name in schema.model_fields}


@cache
def answer_token_cap(schema: type[BaseModel]) -> int:
    """The most tokens an answer to `schema` can take: the length of its longest instance.

    Every string at its `maxLength`, every list at its `maxItems`, the longest enum value,
    written with JSON's separators and a space after each. A token mostly holds at least
    one character; doubling that covers a few escapes, characters a tokenizer spells in
    bytes and the whitespace a grammar lets the model add, so an answer within the schema
    is not cut off (one that spells every character as an escape could be).
    """
    spec = schema.model_json_schema()
    return 2 * _longest(spec, spec.get("$defs", {})) + 16


def _longest(spec: dict[str, Any], defs: dict[str, Any]) -> int:
    """Characters of the longest JSON value `spec` admits (bounded schemas only)."""
    if ref := spec.get("$ref"):
        return _longest(defs[ref.rsplit("/", 1)[-1]], defs)
    if "enum" in spec:
        return max(len(json.dumps(value, ensure_ascii=False)) for value in spec["enum"])
    if options := spec.get("anyOf"):
        return max(_longest(option, defs) for option in options)
    kind = spec.get("type")
    if kind == "object":
        members = spec.get("properties", {})
        fields = [
            len(json.dumps(key)) + 2 + _longest(value, defs) for key, value in members.items()
        ]
        return 2 + sum(fields) + 2 * max(len(fields) - 1, 0)
    if kind == "array":
        items = int(spec.get("maxItems", MAX_ITEMS))
        return 2 + items * (_longest(spec.get("items", {}), defs) + 2)
    if kind == "string":
        return 2 + int(spec.get("maxLength", SHORT_TEXT_CHARS))
    if kind == "integer":
        return len(str(spec.get("maximum", 10**6)))
    if kind == "boolean":
        return len("false")
    return 8
