"""A turn that fails on a bug, not an `EmoStageError`, still stays visible in its thread.

The thread records the error's type only (its message may quote anything, client text
included), the client is told in their language, and the error goes on to the caller.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from emostage.graph import build_graph
from emostage.nodes import deliver_reply
from emostage.prompts import load_prompts
from emostage.streaming import delta_of, shown_text
from emostage.testing import ScriptedChatModel

SECRET = "something the client said"


def said(text: str) -> Any:
    return {"messages": [{"role": "user", "content": text}]}


def broken(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(f"a bug that quotes {SECRET}")


@pytest.mark.parametrize("entry", ["stream", "astream"])
def test_a_bug_is_recorded_told_and_raised(monkeypatch: pytest.MonkeyPatch, entry: str) -> None:
    monkeypatch.setattr(deliver_reply, "reply_message", broken)
    graph = build_graph(ScriptedChatModel(), checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": entry}}
    turn = {"messages": [{"role": "user", "content": "I can't sleep."}]}
    chunks: list[Any] = []

    async def astream() -> None:
        async for chunk in graph.astream(turn, config, stream_mode="custom"):
            chunks.append(chunk)

    with pytest.raises(RuntimeError, match="a bug that quotes"):
        if entry == "stream":
            chunks.extend(graph.stream(turn, config, stream_mode="custom"))
        else:
            asyncio.run(astream())
    told = load_prompts("en").failure_reply
    assert shown_text([d for c in chunks if (d := delta_of(c)) is not None]) == told
    values = graph.get_state(config).values
    assert values["failure"].error == "RuntimeError" and SECRET not in values["failure"].message
    assert values["messages"][-1].content == told


def test_regenerating_a_failed_turn_runs_the_whole_turn_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = ScriptedChatModel()
    graph = build_graph(model, checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "again"}}
    with monkeypatch.context() as patch:
        patch.setattr(deliver_reply, "reply_message", broken)
        with pytest.raises(RuntimeError):
            graph.invoke(said("I can't sleep."), config)
    notice = graph.get_state(config).values["messages"][-1]
    history = list(graph.get_state_history(config))  # newest first
    first_sight = [s for s in history if any(m.id == notice.id for m in s.values["messages"])]
    analysed = len(model.calls)
    rerun = graph.invoke(None, first_sight[-1].parent_config)  # a chat client's regenerate
    names = [name for name, _ in model.calls[analysed:]]
    assert "PhaseAssessment" in names and None in names  # analysed again, then drafted
    assert rerun["response"] and graph.get_state(config).values["failure"] is None
    assert [m.type for m in graph.get_state(config).values["messages"]] == ["human", "ai"]


def test_a_paused_turn_whose_delivery_fails_stays_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = build_graph(ScriptedChatModel(), checkpointer=InMemorySaver(), review="crisis")
    config: Any = {"configurable": {"thread_id": "paused"}}
    graph.invoke(said("I want to kill myself."), config)
    with monkeypatch.context() as patch:
        patch.setattr(deliver_reply, "reply_message", broken)
        with pytest.raises(RuntimeError):
            graph.invoke(Command(resume="approve"), config)
    paused = graph.get_state(config)
    assert paused.interrupts and paused.values.get("failure") is None
    assert "988" in graph.invoke(Command(resume="approve"), config)["response"]
