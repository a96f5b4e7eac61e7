"""A person in the loop: crisis replies pause for review, then resume as decided."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from emostage import EmoStage, InputError
from emostage.conversation import Turn
from emostage.graph import build_graph
from emostage.review import paused_request
from emostage.state import InputState
from emostage.streaming import delta_of, shown_text
from emostage.testing import ScriptedChatModel

from ..conftest import emostage

DRAFT = "Thank you for telling me. Are you safe right now?"
CRISIS = "I want to kill myself tonight."
ROUTINE = "Work was long today."


def stage(**settings: Any) -> EmoStage:
    return EmoStage(ScriptedChatModel(defaults={"text": DRAFT}), review="crisis", **settings)


def client(text: str) -> list[dict[str, str]]:
    return [{"role": "client", "content": text}]


def test_a_crisis_turn_waits_for_the_reviewer_and_is_delivered_as_approved() -> None:
    reviewed = stage()
    paused = reviewed.respond(client(CRISIS), thread_id="t")
    assert paused.status == "awaiting_review" and paused.response == ""
    request = paused.pending_review
    assert request is not None and request.turn == 1
    assert request.risk.level == "crisis" and request.message == DRAFT
    assert request.draft.startswith(DRAFT) and "988" in request.draft
    assert [r.contact for r in request.resources] == ["call or text 988", "911"]
    assert reviewed.pending_review("t") == request

    reply = reviewed.resume("t", "approve")
    assert reply.status == "delivered" and reply.response == request.draft
    assert (
        reply.review is not None and reply.review.action == "approve" and not reply.review.changed
    )
    state = reviewed.graph.get_state({"configurable": {"thread_id": "t"}}).values
    assert state["dialogue"][-1].content == request.draft  # the client saw what was approved
    assert state["review"].action == "approve"
    assert reviewed.pending_review("t") is None


def test_an_edit_keeps_the_resources_and_a_replacement_is_verbatim() -> None:
    reviewed = stage()
    reviewed.respond(client(CRISIS), thread_id="edit")
    edited = reviewed.resume("edit", {"action": "edit", "response": "I'm here. Are you safe?"})
    assert edited.response.startswith("I'm here. Are you safe?\n\n") and "988" in edited.response
    assert edited.review is not None and edited.review.changed
    reviewed.respond(client(CRISIS), thread_id="replace")
    replaced = reviewed.resume("replace", {"action": "replace", "response": "Call me now."})
    assert replaced.response == "Call me now." and replaced.review is not None


def test_routine_turns_are_not_held_and_always_holds_every_turn() -> None:
    assert stage().respond(client(ROUTINE)).status == "delivered"
    every = EmoStage(ScriptedChatModel(defaults={"text": DRAFT}), review="always")
    paused = every.respond(client(ROUTINE), thread_id="r")
    assert paused.status == "awaiting_review" and paused.pending_review is not None
    assert paused.pending_review.resources == [] and paused.pending_review.draft == DRAFT
    assert every.resume("r", "approve").response == DRAFT


def test_a_multi_turn_thread_pauses_only_its_crisis_turn() -> None:
    reviewed = stage(checkpointer=InMemorySaver())
    assert reviewed.respond(client(ROUTINE), thread_id="m").status == "delivered"
    assert reviewed.respond(client(CRISIS), thread_id="m").status == "awaiting_review"
    approved = asyncio.run(reviewed.aresume("m", "approve"))
    assert approved.status == "delivered"
    # The safety follow-up is a crisis-strategy turn too, so it is held as well.
    follow_up = reviewed.respond(client("I don't know. Whatever."), thread_id="m")
    assert follow_up.status == "awaiting_review"
    assert follow_up.pending_review is not None
    assert follow_up.pending_review.risk.carried_from_turn == 2
    state = reviewed.graph.get_state({"configurable": {"thread_id": "m"}}).values
    assert [t.role for t in state["dialogue"]] == ["client", "counselor"] * 2 + ["client"]


@pytest.mark.parametrize(
    "decision", ["maybe", {"action": "edit"}, {"action": "replace", "response": " "}, 3]
)
def test_a_bad_decision_is_one_clear_error_and_the_turn_stays_paused(decision: Any) -> None:
    reviewed = stage()
    reviewed.respond(client(CRISIS), thread_id="bad")
    with pytest.raises(InputError, match="review decision") as refused:
        reviewed.resume("bad", decision)
    if decision == "maybe":  # a misspelt action is named, not just its type
        assert str(refused.value).endswith("got 'maybe'.")
    assert reviewed.pending_review("bad") is not None
    with pytest.raises(InputError, match="no turn awaiting review"):
        reviewed.resume("nothing-here", "approve")


def test_the_raw_graph_interrupts_and_resumes_with_a_command() -> None:
    graph = build_graph(
        ScriptedChatModel(defaults={"text": DRAFT}), checkpointer=InMemorySaver(), review="crisis"
    )
    config: Any = {"configurable": {"thread_id": "g"}}
    payload = InputState(dialogue=[Turn(role="client", content=CRISIS)])
    events = list(graph.stream(payload, config, stream_mode="custom"))
    assert [delta_of(e) for e in events if delta_of(e)] == []  # nothing reaches the client yet
    (interrupt,) = graph.get_state(config).interrupts
    request = paused_request(interrupt.value)
    assert request.risk.level == "crisis"
    resumed = graph.stream(Command(resume="approve"), config, stream_mode="custom")
    shown = shown_text(d for e in resumed if (d := delta_of(e)))
    assert shown == request.draft == graph.get_state(config).values["response"]


def test_the_studio_graph_reads_its_review_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOSTAGE_REVIEW", "always")
    monkeypatch.setenv("EMOSTAGE_BACKEND", "scripted")
    studio = importlib.reload(importlib.import_module("emostage.studio"))
    graph = studio.graph.copy(update={"checkpointer": InMemorySaver()})
    config: Any = {"configurable": {"thread_id": "s"}}
    graph.invoke({"dialogue": client(ROUTINE)}, config)
    (interrupt,) = graph.get_state(config).interrupts
    assert paused_request(interrupt.value).policy == "always"
    graph.invoke(Command(resume={"action": "replace", "response": "Hello."}), config)
    assert graph.get_state(config).values["response"] == "Hello."


@pytest.mark.usefixtures("scripted_cli")
def test_chat_review_shows_the_operator_the_draft_before_the_client() -> None:
    steps = f"{CRISIS}\ne\nI'm right here with you. Are you safe?\n/quit\n"
    result = emostage("chat", "--session", "r1", "--review", input=steps)
    assert result.exit_code == 0, result.output
    review_at = result.output.index("review (risk: crisis, self)")
    reply_at = result.output.index("counselor> I'm right here with you. Are you safe?")
    assert review_at < reply_at and "(crisis)" in result.output[reply_at:]
    assert "988" in result.output[reply_at:]  # an edit keeps the resources


@pytest.mark.usefixtures("scripted_cli")
def test_only_a_whole_answer_decides_at_the_review_prompt() -> None:
    chat = ["chat", "--session", "r2", "--review"]
    # Words typed by mistake (here a message for the client) decide nothing; they ask again.
    steps = f"{CRISIS}\nanother message\nexit\n"
    unsure = emostage(*chat, input=steps)
    assert unsure.exit_code == 0, unsure.output
    assert unsure.output.count("answer a, e or r; nothing was sent") == 2
    assert "counselor>" not in unsure.output
    assert "the reply awaits review: emostage chat --session r2 --review" in unsure.output

    # Input that ends at the text prompt leaves the turn paused too, with the way back.
    at_text = emostage(*chat, input="replace\n\n")
    assert at_text.exit_code == 0, at_text.output
    assert "the text is empty" in at_text.output and "counselor>" not in at_text.output
    assert "the reply awaits review" in at_text.output

    approved = emostage(*chat, input="Approve\n/quit\n")
    assert approved.exit_code == 0 and approved.output.count("counselor>") == 1


@pytest.mark.usefixtures("scripted_cli")
def test_replacing_the_whole_reply_sends_it_as_typed_and_says_so() -> None:
    steps = f"{CRISIS}\nr\nAre you safe right now?\n/quit\n"
    result = emostage("chat", "--session", "r3", "--review", input=steps)
    assert result.exit_code == 0, result.output
    assert "the crisis resources are not added" in result.stderr
    assert result.stdout.rstrip().endswith("counselor> Are you safe right now?\n(crisis)\nyou>")


@pytest.mark.usefixtures("scripted_cli")
def test_a_session_paused_for_a_counselor_reopened_for_a_client_is_one_line() -> None:
    emostage("chat", "--session", "r4", "--review", input=f"{CRISIS}\n")  # left paused
    reopened = emostage("chat", "--session", "r4", "--review", "--audience", "client", input="a\n")
    assert reopened.exit_code == 2 and "paused for a counselor" in reopened.stderr
    assert "review (risk" not in reopened.output  # refused before the review is shown
    decided = emostage("chat", "--session", "r4", "--review", input="a\n/quit\n")
    assert decided.exit_code == 0 and "988" in decided.stdout


def test_a_message_sent_while_paused_is_refused_not_merged_into_the_turn() -> None:
    reviewed = stage(checkpointer=InMemorySaver())
    reviewed.respond(client(CRISIS), thread_id="w")
    with pytest.raises(InputError, match="awaits review"):
        reviewed.respond(client("hello?"), thread_id="w")
    state = reviewed.graph.get_state({"configurable": {"thread_id": "w"}}).values
    assert [t.content for t in state["dialogue"]] == [CRISIS]
    assert [m.content for m in state["messages"]] == [CRISIS]
