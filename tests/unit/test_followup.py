"""Risk persists within a session: after a crisis turn the next turns follow up on safety."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from emostage import EmoStage
from emostage.prompts import load_prompts
from emostage.testing import ScriptedChatModel

CRISIS = {"ja": "もう死にたい。", "zh": "我不想活了。", "en": "I want to kill myself."}
VAGUE = {"ja": "わからない。別に。", "zh": "不知道。随便吧。", "en": "I don't know. Whatever."}


def thread_stage(model: ScriptedChatModel | None = None) -> EmoStage:
    return EmoStage(model or ScriptedChatModel(), checkpointer=InMemorySaver())


def turn(stage: EmoStage, text: str, thread: str = "t") -> Any:
    return stage.respond([{"role": "client", "content": text}], thread_id=thread)


@pytest.mark.parametrize("language", CRISIS)
def test_a_crisis_is_carried_over_then_ends_after_three_quiet_turns(language: str) -> None:
    model = ScriptedChatModel()
    stage = thread_stage(model)
    assert turn(stage, CRISIS[language]).risk.level == "crisis"
    for number in (2, 3, 4):  # safety_followup_turns=3 quiet turns still follow up
        reply = turn(stage, VAGUE[language])
        assert reply.risk.level == "concern" and reply.risk.carried_from_turn == 1, number
        assert "carried over from turn 1" in reply.risk.reasons
        assert "draft_crisis" in {n.node for n in reply.diagnostics.nodes}
        sent = model.calls[-1][1][-1].text
        assert sent == load_prompts(language).draft_safety_followup  # the follow-up strategy
    routine = turn(stage, VAGUE[language])
    assert routine.risk.level == "none" and routine.risk.carried_from_turn is None
    assert "draft_crisis" not in {n.node for n in routine.diagnostics.nodes}
    watch = stage.graph.get_state({"configurable": {"thread_id": "t"}}).values["safety_watch"]
    assert watch.crisis_turn == 1 and watch.closed_turn == 5
    assert watch.closed_because == "3 client turns without a sign of risk"


@pytest.mark.parametrize("language", CRISIS)
def test_the_follow_up_ends_when_the_model_judges_the_question_answered(language: str) -> None:
    answered = {"risk": "none", "safety_answered": True, "safety_reason": "says safe at home"}
    model = ScriptedChatModel(structured={"Perspective": [{}, answered]})
    stage = thread_stage(model)
    turn(stage, CRISIS[language])
    reply = turn(stage, VAGUE[language])
    assert reply.risk.level == "none"
    assert "draft_crisis" not in {n.node for n in reply.diagnostics.nodes}
    watch = stage.graph.get_state({"configurable": {"thread_id": "t"}}).values["safety_watch"]
    assert watch.closed_turn == 2
    assert watch.closed_because == "the client answered the safety question: says safe at home"


def test_a_new_sign_during_the_follow_up_keeps_it_open_longer() -> None:
    stage = thread_stage()
    turn(stage, CRISIS["en"])
    turn(stage, "Whatever.")
    turn(stage, "I feel hopeless.")  # a concern-level sign resets the quiet count
    for _ in range(3):
        assert turn(stage, "Whatever.").risk.carried_from_turn == 1
    assert turn(stage, "Whatever.").risk.level == "none"


def test_without_a_thread_the_dialogue_itself_carries_the_crisis_over() -> None:
    dialogue = [
        {"role": "client", "content": CRISIS["en"]},
        {"role": "counselor", "content": "Are you safe right now?"},
        {"role": "client", "content": VAGUE["en"]},
    ]
    reply = EmoStage(ScriptedChatModel()).respond(dialogue)
    assert reply.risk.level == "concern" and reply.risk.carried_from_turn == 1
    assert "draft_crisis" in {n.node for n in reply.diagnostics.nodes}


def test_another_persons_crisis_gets_the_helpers_draft_not_a_question_about_the_client() -> None:
    model = ScriptedChatModel()
    reply = EmoStage(model).respond(
        [{"role": "client", "content": "My boyfriend keeps saying he wants to die."}]
    )
    assert reply.risk.level == "crisis" and reply.risk.subject == "other"
    prompts = load_prompts("en")
    assert model.calls[-1][1][-1].text == prompts.draft_crisis_other
    assert prompts.crisis_other_resources_header in reply.response and "988" in reply.response
    assert "safe right now" not in prompts.draft_crisis_other


def test_the_models_subject_and_timeframe_join_the_screens() -> None:
    past = {"risk": "crisis", "risk_subject": "self", "risk_timeframe": "past"}
    reply = EmoStage(ScriptedChatModel(structured={"Perspective": [past]})).respond(
        [{"role": "client", "content": "Years ago I was in a dark place."}]
    )
    assert reply.risk.level == "concern" and reply.risk.timeframe == "past"
    other = {"risk": "crisis", "risk_subject": "other"}
    reply = EmoStage(ScriptedChatModel(structured={"Perspective": [other]})).respond(
        [{"role": "client", "content": "My sister gave away her cat and said goodbye."}]
    )
    assert reply.risk.level == "crisis" and reply.risk.subject == "other"
