"""The embedding examples in `examples/` work as their docstrings say."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from types import ModuleType
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import Command

from emostage import ConfigError, EmoStage, build_graph
from emostage.review import paused_request
from emostage.testing import SCRIPTED_REPLY, ScriptedChatModel

from ..conftest import EXAMPLES

CRISIS = "I want to end my life tonight."


def example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # LangGraph reads its state's type hints through it
    spec.loader.exec_module(module)
    return module


def thread(name: str) -> Any:
    return {"configurable": {"thread_id": name}}


def test_the_host_keeps_its_state_and_gets_the_reply_appended() -> None:
    app = example("subgraph_app").build_host_app(ScriptedChatModel())
    app.invoke({"messages": [("user", "Work is crushing me.")]}, thread("h"))
    state = app.invoke({"messages": [("user", "I cry every night.")]}, thread("h"))
    assert [m.type for m in state["messages"]] == ["human", "ai", "human", "ai"]
    assert state["messages"][-1].content == SCRIPTED_REPLY
    assert state["handovers"] == 0
    # The host's checkpointer holds the host's thread.
    assert len(app.get_state(thread("h")).values["messages"]) == 4


def test_the_host_pauses_on_a_crisis_reply_and_sends_what_the_reviewer_approved() -> None:
    app = example("subgraph_app").build_host_app(ScriptedChatModel())
    paused = app.invoke({"messages": [("user", CRISIS)]}, thread("c"))
    draft = paused_request(paused["__interrupt__"][0].value).draft
    assert [m.type for m in paused["messages"]] == ["human"]  # nothing sent yet
    final = app.invoke(Command(resume="approve"), thread("c"))
    sent = final["messages"][-1]
    assert isinstance(sent, AIMessage) and sent.content == draft
    assert "988" in draft and final["handovers"] == 1


def test_the_example_runs_as_a_script(capsys: pytest.CaptureFixture[str]) -> None:
    example("subgraph_app").main()
    assert "Handovers: 1" in capsys.readouterr().out


def test_a_breakpoint_on_an_emostage_node_pauses_the_parent() -> None:
    """The supported way: breakpoints go to `build_graph`, not to the parent's compile."""
    builder = StateGraph(MessagesState)
    stage = build_graph(ScriptedChatModel(), interrupt_before=["draft_crisis"])
    builder.add_node("counselor", stage)
    builder.add_edge(START, "counselor")
    parent: Any = builder.compile(checkpointer=InMemorySaver())
    parent.invoke({"messages": [("user", CRISIS)]}, thread("b"))
    [task] = parent.get_state(thread("b"), subgraphs=True).tasks
    assert task.state.next == ("draft_crisis",)
    resumed = parent.invoke(None, thread("b"))
    assert resumed["messages"][-1].type == "ai"


def test_an_unknown_breakpoint_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="No node named 'draft_crsis'"):
        build_graph(ScriptedChatModel(), interrupt_before=["draft_crsis"])


def test_the_async_web_handler_answers_and_refuses_in_one_line() -> None:
    app = example("async_web").make_app(EmoStage(ScriptedChatModel(), checkpointer=InMemorySaver()))

    async def calls() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            first = await client.post(
                "/reply", json={"messages": [{"role": "user", "content": "I can't sleep."}]}
            )
            thread_id = first.json()["thread_id"]
            second = await client.post(
                "/reply",
                json={
                    "thread_id": thread_id,
                    "messages": [{"role": "user", "content": "It's been a month."}],
                },
            )
            bad = await client.post("/reply", json={"messages": "hello"})
            return [first, second, bad]

    first, second, bad = asyncio.run(calls())
    assert first.status_code == second.status_code == 200
    assert second.json()["reply"] == SCRIPTED_REPLY
    assert bad.status_code == 400 and bad.json()["error"] == "InputError"
    assert "\n" not in bad.json()["message"]
