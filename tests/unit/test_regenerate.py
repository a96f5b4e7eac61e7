"""Regenerate means a new draft: a rerun from before the reply message asks the model again."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from emostage.graph import build_graph
from emostage.testing import ScriptedChatModel

FIRST, SECOND = "That sounds exhausting.", "It makes sense you feel worn out."


def parent_of_first_sight(graph: Any, config: Any, message_id: str) -> Any:
    """What agent-chat-ui reruns: the checkpoint before the one the message first shows in."""
    history = list(graph.get_state_history(config))  # newest first
    seen = [s for s in history if any(m.id == message_id for m in s.values.get("messages", []))]
    return seen[-1].parent_config


def test_a_rerun_from_before_the_reply_drafts_anew_and_stores_the_new_reply() -> None:
    model = ScriptedChatModel(replies=[FIRST, SECOND])
    graph = build_graph(model, checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "r"}}
    said: Any = {"messages": [{"role": "user", "content": "Work is crushing me."}]}
    first = graph.invoke(said, config)
    assert first["response"] == FIRST
    again = graph.invoke(None, parent_of_first_sight(graph, config, first["messages"][-1].id))
    assert again["response"] == SECOND == again["messages"][-1].content
    assert sum(name is None for name, _ in model.calls) == 2  # two drafts, two model calls
    latest = graph.get_state(config).values
    assert latest["response"] == SECOND
    assert [m.type for m in latest["messages"]] == ["human", "ai"]
    assert [t.content for t in latest["dialogue"]] == ["Work is crushing me.", SECOND]


def test_a_crisis_reply_regenerated_keeps_its_resources_once() -> None:
    graph = build_graph(ScriptedChatModel(replies=[FIRST, SECOND]), checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "c"}}
    said: Any = {"messages": [{"role": "user", "content": "I want to kill myself tonight."}]}
    first = graph.invoke(said, config)
    again = graph.invoke(None, parent_of_first_sight(graph, config, first["messages"][-1].id))
    resources = first["response"].removeprefix(FIRST)
    assert "988" in resources and again["response"] == SECOND + resources
    assert again["messages"][-1].content == again["response"]


def test_a_rewrite_regenerated_asks_the_model_again() -> None:
    rewrites = [{"reply": FIRST, "changes": ["warmer"]}, {"reply": SECOND, "changes": ["calmer"]}]
    model = ScriptedChatModel(structured={"Rewrite": list(rewrites)})
    graph = build_graph(model, checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "w"}}
    said: Any = {
        "messages": [{"role": "user", "content": "Work is crushing me."}],
        "counselor_draft": "You should talk to your boss.",
    }
    first = graph.invoke(said, config)
    assert first["response"] == FIRST
    again = graph.invoke(None, parent_of_first_sight(graph, config, first["messages"][-1].id))
    assert again["response"] == SECOND == again["messages"][-1].content
    assert sum(name == "Rewrite" for name, _ in model.calls) == 2
    latest = graph.get_state(config).values
    assert [m.type for m in latest["messages"]] == ["human", "ai"] and latest["changes"] == [
        "calmer"
    ]


def test_a_crisis_rewrite_is_one_message_with_its_resources() -> None:
    model = ScriptedChatModel(structured={"Rewrite": [{"reply": FIRST, "changes": []}]})
    graph = build_graph(model, checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "x"}}
    said: Any = {
        "messages": [{"role": "user", "content": "I want to kill myself tonight."}],
        "counselor_draft": "Please stay safe.",
    }
    messages = [
        chunk[0]
        for chunk in graph.stream(said, config, stream_mode="messages")
        if chunk[0].type != "human"
    ]
    output = graph.get_state(config).values
    assert "988" in output["response"] and output["messages"][-1].content == output["response"]
    assert {m.id for m in messages} == {output["messages"][-1].id}  # one message, as stored
    assert messages[0].content == output["response"]
