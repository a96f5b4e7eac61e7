"""Rewrite my draft: the counselor's own words, improved for empathy and the phase."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from emostage import ConfigError, EmoStage, InputError
from emostage.graph import build_graph
from emostage.testing import SCRIPTED_REWRITE, ScriptedChatModel

from ..conftest import emostage

ROUTINE = [{"role": "client", "content": "Work is crushing me and my boss keeps adding tasks."}]
CRISIS = [{"role": "client", "content": "I want to kill myself tonight."}]
DRAFT = "You should talk to your boss."
BETTER = {"reply": "Counselor: That sounds exhausting. Could you tell your boss?", "changes": ["x"]}


def rewriter(*answers: Any, **settings: Any) -> tuple[EmoStage, ScriptedChatModel]:
    model = ScriptedChatModel(structured={"Rewrite": list(answers)})
    return EmoStage(model, language="en", **settings), model


def test_the_draft_is_improved_cleaned_and_its_changes_listed() -> None:
    stage, model = rewriter(BETTER)
    reply = stage.rewrite(ROUTINE, DRAFT)
    assert reply.response == "That sounds exhausting. Could you tell your boss?"  # label gone
    assert reply.changes == ["x"] and reply.diagnostics.fallbacks == []
    (_, messages) = next(call for call in model.calls if call[0] == "Rewrite")
    request, quoted_draft = messages[-2].text, messages[-1].text
    assert "Phase now:" in request and "keep it theirs" in request  # strategy, then the task
    # The counselor's words are their own message, quoted: never formatted into a template.
    assert quoted_draft.endswith(f'"{DRAFT}"') and DRAFT not in request


def test_a_crisis_rewrite_gets_the_crisis_strategy_and_the_resources() -> None:
    stage, model = rewriter({"reply": "I'm so glad you told me. Are you safe?", "changes": []})
    reply = stage.rewrite(CRISIS, "Please don't.")
    assert reply.response.startswith("I'm so glad you told me. Are you safe?\n\n")
    assert "call or text 988" in reply.response
    request = next(m for s, m in model.calls if s == "Rewrite")[-2].text
    assert "safe" in request.lower()


def test_without_a_usable_rewrite_the_draft_goes_unchanged_and_the_fallback_is_said() -> None:
    stage, _ = rewriter("not json", "{}")
    reply = stage.rewrite(ROUTINE, DRAFT)
    assert reply.response == DRAFT and reply.changes == []
    assert any("rewrite_draft" in f for f in reply.diagnostics.fallbacks)


@pytest.mark.parametrize("draft", ["", "   ", None, 3])
def test_an_empty_draft_is_one_clear_error(draft: Any) -> None:
    stage, _ = rewriter()
    with pytest.raises(InputError, match="draft to rewrite"):
        stage.rewrite(ROUTINE, draft)


def test_arewrite_and_a_thread_keep_the_rewrite_as_the_counselors_turn() -> None:
    stage, _ = rewriter(BETTER, checkpointer=InMemorySaver())
    reply = asyncio.run(stage.arewrite(ROUTINE, DRAFT, thread_id="t"))
    state = stage.graph.get_state({"configurable": {"thread_id": "t"}}).values
    assert state["dialogue"][-1].content == reply.response and state["counselor_draft"] == ""
    assert state["changes"] == ["x"]
    # The next ordinary turn drafts again and lists no changes.
    nxt = stage.respond([{"role": "client", "content": "Thanks."}], thread_id="t")
    assert nxt.changes == []


def test_the_raw_graph_rewrites_a_counselor_draft_and_review_does_not_hold_it() -> None:
    model = ScriptedChatModel()
    graph = build_graph(model, checkpointer=InMemorySaver(), review="crisis")
    config: Any = {"configurable": {"thread_id": "g"}}
    said: Any = {"messages": [{"role": "user", "content": CRISIS[0]["content"]}]}
    payload: Any = {**said, "counselor_draft": "Please stay safe."}
    out = graph.invoke(payload, config)
    assert out["response"].startswith(SCRIPTED_REWRITE["reply"]) and "988" in out["response"]
    assert out["changes"] == SCRIPTED_REWRITE["changes"]
    assert not graph.get_state(config).interrupts  # the counselor wrote it: no review pause


@pytest.mark.usefixtures("scripted_cli")
def test_the_cli_prints_the_rewrite_and_its_changes(tmp_path: Any) -> None:
    dialogue = tmp_path / "d.json"
    dialogue.write_text('[{"role": "client", "content": "Work is crushing me."}]')
    result = emostage("rewrite", str(dialogue), "--draft", DRAFT)
    assert result.exit_code == 0, result.output
    assert SCRIPTED_REWRITE["reply"] in result.output
    assert SCRIPTED_REWRITE["changes"][0] in result.output
    empty = emostage("rewrite", str(dialogue), "--draft", " ")
    assert empty.exit_code == 2 and empty.output.count("\n") == 1
    assert "draft to rewrite" in empty.output


@pytest.mark.parametrize("settings", [{"mode": "baseline"}, {"use_phase": False}])
def test_a_rewrite_without_a_phase_uses_the_phase_neutral_strategy(settings: Any) -> None:
    stage, model = rewriter(BETTER)
    reply = stage.rewrite(ROUTINE, DRAFT, **settings)
    assert reply.response.startswith("That sounds exhausting.")
    request = next(m for s, m in model.calls if s == "Rewrite")[-2].text
    assert "Phase now:" not in request and "keep it theirs" in request


def test_a_rewrite_writes_one_reply(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    stage, _ = rewriter(BETTER)
    with pytest.raises(ConfigError, match="candidates at 1"):
        stage.rewrite(ROUTINE, DRAFT, candidates=3)
    # A default of several (a server's EMOSTAGE_CANDIDATES) leaves a rewrite at one.
    monkeypatch.setenv("EMOSTAGE_CANDIDATES", "3")
    several, _ = rewriter(BETTER)
    assert several.context.candidates == 3
    assert several.rewrite(ROUTINE, DRAFT).candidates == []
    monkeypatch.setenv("EMOSTAGE_BACKEND", "scripted")
    dialogue = tmp_path / "d.json"
    dialogue.write_text('[{"role": "client", "content": "Work is crushing me."}]')
    assert emostage("rewrite", str(dialogue), "--draft", DRAFT).exit_code == 0
    asked = emostage("rewrite", str(dialogue), "--draft", DRAFT, "--candidates", "3")
    assert asked.exit_code == 2 and "candidates at 1" in asked.output


@pytest.mark.parametrize(
    ("answer", "fallback"),
    [
        ({"reply": "", "changes": []}, "an empty rewrite"),
        ({"reply": "  ", "changes": ["none"]}, "an empty rewrite"),
    ],
)
def test_an_empty_rewrite_is_a_fallback_that_is_said(answer: Any, fallback: str) -> None:
    stage, _ = rewriter(answer)
    reply = stage.rewrite(ROUTINE, DRAFT)
    assert reply.response == DRAFT and reply.changes == []
    assert any(fallback in f for f in reply.diagnostics.fallbacks)


def test_one_change_too_many_keeps_the_rewrite_and_its_first_changes() -> None:
    stage, _ = rewriter({"reply": "That sounds exhausting.", "changes": list("abcde")})
    reply = stage.rewrite(ROUTINE, DRAFT)
    assert reply.response == "That sounds exhausting." and reply.changes == list("abcd")
    assert reply.diagnostics.fallbacks == []
