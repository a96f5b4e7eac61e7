"""Messages in, message out: the graph speaks LangGraph's `messages` convention too.

Chat front ends and Studio's chat view send `messages` (user/assistant, human/ai, LangChain
messages) and read the reply as the last AI message. The reply message is the stored reply,
its analysis rides in `response_metadata`, and analysis calls never show up as messages.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langgraph.checkpoint.memory import InMemorySaver

from emostage import EmoStage, InputError, build_graph
from emostage.conversation import METADATA_KEY, parse_dialogue
from emostage.safety import crisis_resources
from emostage.streaming import sentence_chunks
from emostage.testing import SCRIPTED_REPLY, ScriptedChatModel

SLEEP = "I haven't been sleeping since my job changed."
CRISIS = "I want to kill myself tonight. I have the pills ready."
THREAD: Any = {"configurable": {"thread_id": "t1"}}


def chat_graph(**options: Any) -> Any:
    """The graph, typed loosely: these tests send dict payloads, as JSON clients do."""
    return build_graph(ScriptedChatModel(), **options)


def run(payload: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """One turn on a fresh thread: the output, and the dialogue the checkpoint holds."""
    graph = chat_graph(checkpointer=InMemorySaver())
    output = graph.invoke(payload, THREAD)
    return output, dialogue_of(graph)


def dialogue_of(graph: Any) -> list[tuple[str, str]]:
    return [(t.role, t.content) for t in graph.get_state(THREAD).values["dialogue"]]


def last_ai(output: dict[str, Any]) -> AIMessage:
    message = output["messages"][-1]
    assert isinstance(message, AIMessage)
    return message


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": SLEEP}],
        [{"role": "human", "content": SLEEP}],
        [{"role": "client", "content": SLEEP}],
        [{"type": "human", "content": SLEEP}],
        [("user", SLEEP)],
        [HumanMessage(SLEEP)],
        [SystemMessage("You are a host app's agent."), HumanMessage(SLEEP)],
        [
            {"role": "assistant", "content": "Hello, how are you?"},
            {"role": "user", "content": SLEEP},
        ],
    ],
    ids=["user", "human", "client", "type", "tuple", "message", "system", "assistant"],
)
def test_every_accepted_shape_gets_the_reply_as_the_last_ai_message(messages: Any) -> None:
    output, dialogue = run({"messages": messages})
    reply = last_ai(output)
    assert reply.content == output["response"] == SCRIPTED_REPLY
    assert dialogue[-2:] == [("client", SLEEP), ("counselor", reply.content)]


def test_the_reply_message_carries_phase_risk_and_perspective() -> None:
    output = chat_graph().invoke({"messages": [("user", SLEEP)]})
    facts = last_ai(output).response_metadata[METADATA_KEY]
    assert facts["phase"] == output["phase"]
    assert facts["risk"] == output["risk"].model_dump(mode="json")
    assert facts["perspective"] == output["perspective"].model_dump(mode="json")
    assert facts["language"] == "en"


def test_a_crisis_turn_by_message_gets_the_fixed_reply_with_resources() -> None:
    output = chat_graph().invoke({"messages": [("user", CRISIS)]})
    reply = last_ai(output)
    assert reply.content == output["response"]
    assert reply.response_metadata[METADATA_KEY]["risk"]["level"] == "crisis"
    for resource in crisis_resources("en", "").resources:
        assert resource.contact in reply.content


def test_a_thread_sends_only_the_new_message_and_both_views_stay_in_step() -> None:
    graph = chat_graph(checkpointer=InMemorySaver())
    graph.invoke({"messages": [("user", SLEEP)]}, THREAD)
    output = graph.invoke({"messages": [("user", "Work is too much.")]}, THREAD)
    assert [m.type for m in output["messages"]] == ["human", "ai", "human", "ai"]
    assert dialogue_of(graph) == [
        (r, m.content) for r, m in zip(["client", "counselor"] * 2, output["messages"], strict=True)
    ]


def test_a_dialogue_thread_shows_its_turns_as_messages_too() -> None:
    graph = chat_graph(checkpointer=InMemorySaver())
    graph.invoke({"dialogue": [{"role": "client", "content": SLEEP}]}, THREAD)
    output = graph.invoke({"messages": [HumanMessage("Work is too much.")]}, THREAD)
    assert [m.content for m in output["messages"]][::2] == [SLEEP, "Work is too much."]
    assert dialogue_of(graph) == [
        ("client" if m.type == "human" else "counselor", m.content) for m in output["messages"]
    ]


def test_consecutive_user_messages_are_one_client_turn() -> None:
    graph = chat_graph(checkpointer=InMemorySaver())
    graph.invoke({"messages": [("user", "I can't sleep."), ("user", "Again.")]}, THREAD)
    assert dialogue_of(graph)[0] == ("client", "I can't sleep.\nAgain.")
    graph.invoke({"messages": [("user", "Still.")]}, THREAD)
    assert [role for role, _ in dialogue_of(graph)] == ["client", "counselor"] * 2


def test_the_hosts_tool_traffic_is_not_a_turn() -> None:
    tool_call = AIMessage("", tool_calls=[{"name": "lookup", "args": {}, "id": "c1"}])
    messages: list[BaseMessage] = [
        HumanMessage(SLEEP),
        tool_call,
        ToolMessage("42", tool_call_id="c1"),
    ]
    _, dialogue = run({"messages": messages})
    assert [role for role, _ in dialogue] == ["client", "counselor"]


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "wizard"),
        ({"messages": [{"role": "user"}]}, "content"),
        ({"messages": [("user", SLEEP)], "dialogue": [{"role": "client", "content": "x"}]}, "both"),
        ({"messages": [("assistant", "Hello.")]}, "client"),
        ({"dialogue": [{"role": "narrator", "content": "x"}]}, "role"),
    ],
)
def test_bad_messages_are_one_typed_error(payload: Any, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        chat_graph().invoke(payload)


def test_only_the_reply_streams_as_chat_messages_as_it_is_written() -> None:
    graph = chat_graph(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "m"}}
    streamed = [
        message
        for message, _ in graph.stream(
            {"messages": [("user", SLEEP)]}, config, stream_mode="messages"
        )
    ]
    # The reply sentence by sentence, under the id of the message stored: no JSON
    # analysis, no raw model output.
    stored = last_ai(graph.get_state(config).values)
    assert [m.content for m in streamed] == sentence_chunks(SCRIPTED_REPLY)
    assert {m.id for m in streamed} == {stored.id}
    assert "".join(str(m.content) for m in streamed) == stored.content


def test_the_async_graph_streams_chat_messages_alike() -> None:
    async def collect() -> list[Any]:
        stream = chat_graph().astream({"messages": [("user", SLEEP)]}, stream_mode="messages")
        return [message async for message, _ in stream]

    streamed = asyncio.run(collect())
    assert [m.content for m in streamed] == sentence_chunks(SCRIPTED_REPLY)
    assert len({m.id for m in streamed}) == 1


def test_the_async_graph_takes_messages_too() -> None:
    output = asyncio.run(chat_graph().ainvoke({"messages": [("user", SLEEP)]}))
    assert last_ai(output).content == output["response"]


@pytest.mark.parametrize(
    "dialogue",
    [
        [HumanMessage(SLEEP)],
        [{"role": "user", "content": SLEEP}],
        [AIMessage("Hello."), {"role": "human", "content": SLEEP}],
    ],
)
def test_respond_takes_chat_messages(dialogue: Any) -> None:
    reply = EmoStage(ScriptedChatModel()).respond(dialogue)
    assert reply.response == SCRIPTED_REPLY


def test_system_messages_in_a_dialogue_are_skipped() -> None:
    turns = parse_dialogue(
        [{"role": "system", "content": "Be kind."}, {"role": "user", "content": SLEEP}]
    )
    assert [(t.role, t.content) for t in turns] == [("client", SLEEP)]


def test_studio_forms_explain_every_field() -> None:
    graph = chat_graph()
    for schema in (graph.get_input_jsonschema(), graph.get_output_jsonschema()):
        for name, spec in schema["properties"].items():
            assert spec.get("description"), name
