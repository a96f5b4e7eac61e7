"""The analysis schemas: the compact encoding a model writes, and the caps its bounds give."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emostage.analysis import (
    EMOTION_NAME_CHARS,
    MAX_ITEMS,
    NEED_CODES,
    SHORT_TEXT_CHARS,
    Emotion,
    Perspective,
    SupportNeed,
    answer_token_cap,
    phase_schema,
    wire_keys,
)
from emostage.languages import LANGUAGES
from emostage.prompts import load_prompts
from emostage.prompts.messages import perspective_instruction, phase_instruction
from emostage.prompts.phases import load_taxonomy

COMPACT: dict[str, Any] = {
    "feel": [{"n": "overwhelmed", "i": 4}],
    "sit": "Work keeps piling up.",
    "view": "Saying no would let everyone down.",
    "need": ["heard", "plan"],
    "unsaid": "Permission to set limits.",
    "risk": "concern",
    "risk_why": "exhausted",
    "who": "self",
    "when": "current",
    "safe": False,
    "safe_why": "",
}


def test_a_compact_answer_reads_into_the_full_names() -> None:
    perspective = Perspective.model_validate(COMPACT)
    assert perspective.emotions == [Emotion(name="overwhelmed", intensity=4)]
    assert perspective.support_needs == ["being_heard", "action_planning"]
    assert perspective.risk_subject == "self" and perspective.risk_reason == "exhausted"
    # EmoStage keeps and shows it by name; stored data reads back by name too.
    stored = perspective.model_dump(mode="json")
    assert "support_needs" in stored and "need" not in stored
    assert Perspective.model_validate(stored) == perspective


def test_every_field_has_one_short_key() -> None:
    keys = wire_keys(Perspective)
    assert set(keys) == set(Perspective.model_fields)
    assert len(set(keys.values())) == len(keys)
    assert all(len(key) <= len(name) for name, key in keys.items())
    assert set(NEED_CODES.values()) == set(get_args(SupportNeed))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_prompts_name_every_key_the_schema_asks_for(language: Any) -> None:
    prompts = load_prompts(language)
    asked = perspective_instruction(prompts)
    for key in [*wire_keys(Perspective).values(), *wire_keys(Emotion).values()]:
        assert f'"{key}"' in asked, key
    for code in NEED_CODES:
        assert f"{code} (" in asked
    taxonomy = load_taxonomy("ivey")
    phase_asked = phase_instruction(taxonomy, prompts, language)
    for key in wire_keys(phase_schema(tuple(taxonomy.ids))).values():
        assert f'"{key}"' in phase_asked, key


def longest_perspective(text: str) -> dict[str, Any]:
    """A perspective answer at every bound of the schema, its text made of `text`."""
    full = (text * SHORT_TEXT_CHARS)[:SHORT_TEXT_CHARS]
    return {
        "feel": [{"n": (text * 24)[:EMOTION_NAME_CHARS], "i": 5}] * MAX_ITEMS,
        "sit": full,
        "view": full,
        "need": ["encourage"] * MAX_ITEMS,
        "unsaid": full,
        "risk": "concern",
        "risk_why": full,
        "who": "unclear",
        "when": "current",
        "safe": False,
        "safe_why": full,
    }


@given(st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=4))
def test_no_answer_within_the_schema_reaches_the_cap(text: str) -> None:
    # Characters bound tokens; the longest answer, with a space or line break between
    # every item, fits. (A model that spells each character as a \u escape could exceed
    # it; then the answer is cut off and asked again, as any runaway answer is.)
    answer = longest_perspective(text)
    Perspective.model_validate(answer)
    written = json.dumps(answer, ensure_ascii=False, indent=1)
    assert len(written) <= answer_token_cap(Perspective)


def test_caps_follow_the_schema() -> None:
    phase = phase_schema(("opening", "exploration"))
    assert answer_token_cap(phase) < answer_token_cap(Perspective)
    assert answer_token_cap(phase) >= 2 * len('{"why": "", "phase": "exploration"}')
