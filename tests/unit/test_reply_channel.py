"""One reply on every path: what a client is shown is exactly what the turn stored.

For each language, routine and crisis turns, every fallback mode, and answers wrapped in
labels or `<think>` blocks, the text streamed by `stream`, `astream` and a raw
`graph.stream(stream_mode="custom")` equals `respond`/`arespond`'s `Reply.response`,
which equals what the checkpoint stores. (What `emostage chat` shows, as a real process:
tests/integration/test_reply_channel.py.)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import BaseMessage
from langgraph.checkpoint.memory import InMemorySaver

from emostage import EmoStage, ModelUnavailableError, build_graph
from emostage.conversation import Turn
from emostage.languages import Language
from emostage.nodes.deliver_reply import reply_chunk
from emostage.prompts import load_prompts
from emostage.safety import crisis_resources
from emostage.state import InputState
from emostage.testing import SCRIPTED_REPLY, ScriptedChatModel

CLIENT = {
    "ja": "最近、仕事のことで眠れない日が続いています。",
    "zh": "最近因为工作的事情，我一直睡不好。",
    "en": "I haven't been sleeping since my job changed.",
}
CRISIS = {
    "ja": "もう死にたい。今夜、薬を全部飲むつもりです。",
    "zh": "我不想活了，今晚就打算吃下所有的药。",
    "en": "I want to kill myself tonight. I have the pills ready.",
}
LANGUAGES: list[Language] = ["ja", "zh", "en"]


def turns(dialogue: list[dict[str, str]]) -> list[Turn]:
    return [Turn.model_validate(turn) for turn in dialogue]


def model_down(messages: list[BaseMessage]) -> str:
    raise ModelUnavailableError("the test model is down")


def script(language: Language, case: str) -> dict[str, Any]:
    """ScriptedChatModel settings for one case: what the model answers."""
    counselor = load_prompts(language).labels.counselor
    cases: dict[str, dict[str, Any]] = {
        "plain": {},
        "labelled": {"defaults": {"text": f'{counselor}: "I hear you."'}},
        "thinking": {"defaults": {"text": "<think>plan the reply</think>\nI hear you."}},
        "empty_draft": {"defaults": {"text": "   "}},
        "html_analysis": {
            "defaults": {"PhaseAssessment": "<html>502</html>", "Perspective": "<html>"}
        },
        "wrong_schema": {
            "defaults": {"PhaseAssessment": {"stage": 3}, "Perspective": {"feelings": "sad"}}
        },
        "malformed_analysis": {
            "defaults": {"PhaseAssessment": '{"phase": ', "Perspective": "{not json"}
        },
        "model_down": {
            "replies": [model_down] * 9,
            "structured": {"PhaseAssessment": [model_down] * 9, "Perspective": [model_down] * 9},
        },
    }
    return cases[case]


def make_model(language: Language, case: str) -> ScriptedChatModel:
    return ScriptedChatModel(**script(language, case))


ROUTINE_CASES = [
    "plain",
    "labelled",
    "thinking",
    "empty_draft",
    "html_analysis",
    "wrong_schema",
    "malformed_analysis",
]
CRISIS_CASES = [*ROUTINE_CASES, "model_down"]


def every_path(
    new_model: Callable[[], ScriptedChatModel], dialogue: list[dict[str, str]]
) -> dict[str, str]:
    """The reply as each path shows it, and as each checkpoint stores it."""
    seen: dict[str, str] = {}

    def stored(graph: Any, thread: str) -> str:
        values = graph.get_state({"configurable": {"thread_id": thread}}).values
        assert values["dialogue"][-1].role == "counselor"
        assert values["dialogue"][-1].content == values["response"]
        return str(values["response"])

    stage = EmoStage(new_model(), checkpointer=InMemorySaver())
    seen["respond"] = stage.respond(dialogue, thread_id="respond").response
    seen["respond: stored"] = stored(stage.graph, "respond")

    stage = EmoStage(new_model(), checkpointer=InMemorySaver())
    seen["arespond"] = asyncio.run(stage.arespond(dialogue, thread_id="arespond")).response
    seen["arespond: stored"] = stored(stage.graph, "arespond")

    stage = EmoStage(new_model(), checkpointer=InMemorySaver())
    seen["stream"] = "".join(stage.stream(dialogue, thread_id="stream"))
    seen["stream: stored"] = stored(stage.graph, "stream")

    async def collect(stage: EmoStage) -> str:
        return "".join([chunk async for chunk in stage.astream(dialogue, thread_id="astream")])

    stage = EmoStage(new_model(), checkpointer=InMemorySaver())
    seen["astream"] = asyncio.run(collect(stage))
    seen["astream: stored"] = stored(stage.graph, "astream")

    graph = build_graph(new_model(), checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "graph"}}
    events = graph.stream(InputState(dialogue=turns(dialogue)), config, stream_mode="custom")
    seen["graph.stream"] = "".join(reply_chunk(event) for event in events)
    seen["graph.stream: stored"] = stored(graph, "graph")
    return seen


def assert_one_reply(seen: dict[str, str]) -> str:
    replies = set(seen.values())
    assert len(replies) == 1, json.dumps(seen, ensure_ascii=False, indent=1)
    reply = replies.pop()
    assert reply.strip()
    return reply


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", ROUTINE_CASES)
def test_a_routine_turn_shows_what_it_stores(language: Language, case: str) -> None:
    dialogue = [{"role": "client", "content": CLIENT[language]}]
    reply = assert_one_reply(every_path(lambda: make_model(language, case), dialogue))
    if case in ("labelled", "thinking"):
        assert reply == "I hear you."
    if case == "empty_draft":
        assert reply == load_prompts(language).fallback_reply
    if case in ("plain", "html_analysis", "wrong_schema", "malformed_analysis"):
        assert reply == SCRIPTED_REPLY


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", CRISIS_CASES)
def test_a_crisis_turn_shows_the_resources_it_stores(language: Language, case: str) -> None:
    dialogue = [{"role": "client", "content": CRISIS[language]}]
    reply = assert_one_reply(every_path(lambda: make_model(language, case), dialogue))
    for resource in crisis_resources(language).resources:
        assert resource.contact in reply
    if case == "model_down":
        crisis_fallback = load_prompts(language).crisis_fallback.strip()
        assert reply.startswith(crisis_fallback)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(answer=st.text(min_size=0, max_size=200))
def test_any_model_answer_is_streamed_exactly_as_stored(answer: str) -> None:
    dialogue = [{"role": "client", "content": CLIENT["en"]}]
    graph = build_graph(ScriptedChatModel(defaults={"text": answer}), checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    events = graph.stream(InputState(dialogue=turns(dialogue)), config, stream_mode="custom")
    streamed = "".join(reply_chunk(event) for event in events)
    assert streamed == graph.get_state(config).values["response"]
    assert streamed.strip()


def test_analysis_json_never_reaches_the_messages_stream() -> None:
    graph = build_graph(ScriptedChatModel())
    parts = list(
        graph.stream(
            InputState(dialogue=turns([{"role": "client", "content": CLIENT["en"]}])),
            stream_mode="messages",
        )
    )
    # Every model call is tagged nostream: what streams is the conversation's `messages`,
    # the client's turn and the delivered reply, never an analysis or an undelivered draft.
    assert [(m.type, m.content) for m, _ in parts] == [
        ("human", CLIENT["en"]),
        ("ai", SCRIPTED_REPLY),
    ]
