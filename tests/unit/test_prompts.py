from __future__ import annotations

import string
from typing import Any

import pytest

from emostage import EmoStage, load_taxonomy
from emostage.analysis import Emotion, Perspective, PhaseAssessment
from emostage.context import Context
from emostage.conversation import Turn
from emostage.languages import LANGUAGES
from emostage.prompts import load_prompts
from emostage.prompts.messages import (
    DialogueView,
    draft_instruction,
    perspective_instruction,
    phase_instruction,
    quoted,
    standing_instructions,
)
from emostage.testing import ScriptedChatModel

CLIENT_LINES = {
    "ja": "上司に毎日怒鳴られて、もう限界です。",
    "zh": "我每天都被领导骂，快撑不下去了。",
    "en": "My boss yells at me every day and I'm at my limit.",
}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_language_has_the_same_templates_and_placeholders() -> None:
    english = load_prompts("en").model_dump()
    for language in ("ja", "zh"):
        other = load_prompts(language).model_dump()
        for key, value in english.items():
            if isinstance(value, str):
                assert placeholders(other[key]) == placeholders(value), (language, key)
                assert other[key] != value, f"{language}.{key} is not written in {language}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_taxonomies_describe_every_phase_in_every_language(language: str) -> None:
    for name in ("ivey", "hill"):
        for phase in load_taxonomy(name).phases:
            assert language in phase.texts, (name, phase.id)


@pytest.mark.parametrize("language", LANGUAGES)
def test_three_calls_share_one_prefix_and_end_with_their_instruction(language: Any) -> None:
    model = ScriptedChatModel()
    dialogue = [
        Turn(role="counselor", content="…"),
        Turn(role="client", content=CLIENT_LINES[language]),
    ]
    reply = EmoStage(model).respond(dialogue)
    assert reply.language == language
    prompts = load_prompts(language)
    sent = [messages for _, messages in model.calls]
    assert len(sent) == 3
    prefixes = {tuple((m.type, m.text) for m in messages[:2]) for messages in sent}
    assert len(prefixes) == 1
    ((system, transcript),) = prefixes
    taxonomy = load_taxonomy("ivey")
    assert system == ("system", standing_instructions(prompts, taxonomy, language))
    assert system[1].startswith(prompts.persona)
    assert transcript[1].endswith(f"{prompts.labels.client}: {quoted(CLIENT_LINES[language])}")
    assert len({messages[-1].content for messages in sent}) == 3


@pytest.mark.parametrize("language", LANGUAGES)
def test_instructions_render_in_each_language(language: Any) -> None:
    prompts = load_prompts(language)
    taxonomy = load_taxonomy("ivey")
    phase_text = phase_instruction(taxonomy, prompts, language)
    for phase in taxonomy.phases:
        assert f"- {phase.id} ({phase.text(language).name})" in phase_text
    assert "heard (" in perspective_instruction(prompts)  # support needs by their codes
    draft = draft_instruction(
        prompts,
        taxonomy=taxonomy,
        language=language,
        phase="exploration",
        assessment=PhaseAssessment(phase="exploration", rationale="{why}"),
        perspective=Perspective(
            emotions=[Emotion(name="fear", intensity=4)], support_needs=["validation"]
        ),
    )
    assert taxonomy.phase("exploration").text(language).definition in draft
    assert "fear (4/5)" in draft and prompts.support_needs["validation"] in draft
    assert "{why}" in draft  # model text is joined verbatim, never formatted
    assert draft.endswith(prompts.draft_rules)


@pytest.mark.parametrize("text", ["{history}", "{0} {phases} {{x}}", "%(name)s $x ${y}", "{"])
def test_client_text_with_template_syntax_is_sent_verbatim(text: str) -> None:
    model = ScriptedChatModel()
    EmoStage(model).respond([{"role": "client", "content": text}])
    for _, messages in model.calls:
        assert messages[1].text.endswith(f"Client: {quoted(text)}")


def test_long_dialogues_are_windowed_in_the_transcript() -> None:
    dialogue = [
        Turn(role="client" if i % 2 else "counselor", content=f"line {i}") for i in range(100)
    ]
    view = DialogueView.of(dialogue, Context(recent_turns=6), load_taxonomy("ivey"))
    transcript = view.prefix[1].content
    assert '"line 0"\n' in transcript and '"line 1"\n' in transcript and "line 99" in transcript
    # At least 6 recent turns, the cut moving 3 at a time (recent_turns // 2).
    assert "line 91" not in transcript and "line 92" in transcript
    assert "90 earlier turns not shown" in transcript


@pytest.mark.parametrize("language", LANGUAGES)
def test_fixed_replies_have_no_line_break_mid_sentence(language: Any) -> None:
    prompts = load_prompts(language)
    for text in (prompts.crisis_fallback, prompts.crisis_other_fallback, prompts.fallback_reply):
        assert "\n" not in text.strip()
    assert "\n" not in prompts.failure_reply
