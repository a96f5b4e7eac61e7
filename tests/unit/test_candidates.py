"""Candidates: k replies drafted at once for the turn's strategy; a reviewer picks one."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from langgraph.checkpoint.memory import InMemorySaver

from emostage import ConfigError, Context, EmoStage, InputError, shown_text
from emostage.graph import build_graph
from emostage.review import paused_request
from emostage.testing import ScriptedChatModel

from ..conftest import emostage

ROUTINE = [{"role": "client", "content": "Work is crushing me."}]
CRISIS = [{"role": "client", "content": "I want to kill myself tonight."}]
DRAFTS = ["One, I hear you.", "Two, that sounds hard.", "Three, tell me more."]


def stage(**settings: Any) -> EmoStage:
    return EmoStage(ScriptedChatModel(replies=list(DRAFTS)), language="en", **settings)


def test_k_drafts_one_analysis_the_first_delivered_and_shown() -> None:
    drafting = stage(checkpointer=InMemorySaver())
    deltas = list(drafting.stream(ROUTINE, thread_id="s", candidates=3))
    stored = drafting.graph.get_state({"configurable": {"thread_id": "s"}}).values
    assert shown_text(deltas) == stored["response"] == stored["candidates"][0]  # shown = stored
    reply = drafting.respond(ROUTINE, candidates=1)  # the script has run out: placeholder
    three = stage().respond(ROUTINE, candidates=3)
    assert three.response == three.candidates[0] and sorted(three.candidates) == sorted(DRAFTS)
    calls = {n.node: n.model_calls for n in three.diagnostics.nodes if n.model_calls}
    assert calls == {"recognize_phase": 1, "take_perspective": 1, "draft_exploration": 3}
    assert reply.candidates == []


def test_the_drafts_are_written_at_once() -> None:
    def slow(_: Sequence[BaseMessage]) -> str:
        time.sleep(0.4)
        return "A slow but fine reply."

    model = ScriptedChatModel(defaults={"text": slow})
    started = time.perf_counter()
    reply = EmoStage(model, language="en").respond(ROUTINE, candidates=3)
    assert time.perf_counter() - started < 2 * 0.4  # three drafts, about one draft's time
    assert reply.candidates == ["A slow but fine reply."] * 3


def test_a_reviewer_sees_every_candidate_and_picks_one() -> None:
    reviewed = stage(review="always")
    paused = reviewed.respond(ROUTINE, thread_id="p", candidates=3)
    assert paused.pending_review is not None
    drafted = paused.pending_review.candidates
    assert sorted(drafted) == sorted(DRAFTS)  # written at once: in any order
    with pytest.raises(InputError, match="candidates 1 to 3"):
        reviewed.resume("p", {"action": "pick", "candidate": 9})
    picked = reviewed.resume("p", {"action": "pick", "candidate": 2})
    assert picked.response == drafted[1] and picked.review is not None
    assert picked.review.action == "pick" and picked.review.changed


def test_a_crisis_turn_drafts_candidates_and_a_pick_keeps_the_resources() -> None:
    reviewed = stage(review="crisis")
    reviewed.respond(CRISIS, thread_id="c", candidates=3)
    state = reviewed.graph.get_state({"configurable": {"thread_id": "c"}})
    (action,) = state.interrupts[0].value["action_requests"]
    drafted = paused_request(state.interrupts[0].value).candidates
    assert action["args"]["candidate"] == 1 and f"(3) {drafted[2]}" in action["description"]
    edited = {"name": "send_reply", "args": {**action["args"], "candidate": "3"}}
    picked = reviewed.resume("c", {"decisions": [{"type": "edit", "edited_action": edited}]})
    assert picked.response == f"{drafted[2]}\n\n{action['args']['resources']}"


@pytest.mark.parametrize("count", [0, 9, -1])
def test_a_candidate_count_out_of_range_is_one_clear_error(count: int) -> None:
    with pytest.raises(ConfigError, match="candidates"):
        stage().respond(ROUTINE, candidates=count)


def test_the_raw_graph_takes_candidates_from_its_context() -> None:
    graph = build_graph(ScriptedChatModel(replies=list(DRAFTS)))
    said: Any = {"messages": [{"role": "user", "content": ROUTINE[0]["content"]}]}
    out = graph.invoke(said, context=Context(candidates=2, language="en"))
    assert len(out["candidates"]) == 2 and set(out["candidates"]) <= set(DRAFTS)
    assert out["response"] == out["candidates"][0]


@pytest.mark.usefixtures("scripted_cli")
def test_the_cli_drafts_candidates_and_chat_review_picks_one() -> None:
    result = emostage(
        "respond",
        "-",
        "--candidates",
        "2",
        "--json",
        input='[{"role": "client", "content": "Hi."}]',
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("(scripted test reply)") >= 2
    steps = "I want to kill myself tonight.\n2\n/quit\n"
    chat = emostage("chat", "--session", "k", "--review", "--candidates", "2", input=steps)
    assert chat.exit_code == 0, chat.output
    assert "or a candidate 1-2" in chat.output
    # Each candidate numbered; the crisis resources shown once, after them.
    assert "[1] " in chat.stderr and "[2] " in chat.stderr
    assert chat.stderr.count("call or text 988") == 1
    bad = emostage(
        "respond", "-", "--candidates", "0", input='[{"role": "client", "content": "Hi."}]'
    )
    assert bad.exit_code == 2 and "candidates" in bad.output
