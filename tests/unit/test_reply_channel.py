"""One reply on every path: what a client is shown is exactly what the turn stored.

For each language, routine and crisis turns, every fallback mode, and answers wrapped in
labels, quotes or `<think>` blocks, or cut off mid-stream, the reply as shown by
`respond(on_text=...)`, `stream`, `astream` and a raw `graph.stream(stream_mode="custom")`
(its deltas applied in order) equals `respond`/`arespond`'s `Reply.response`, which
equals what the checkpoint stores. The scripted model streams word by word, so each
case is cleaned as it comes. (What `emostage chat` shows, as a real process:
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

from emostage import EmoStage, ModelUnavailableError, ReplyDelta, build_graph, shown_text
from emostage.conversation import Turn
from emostage.languages import Language
from emostage.prompts import load_prompts
from emostage.safety import crisis_resources
from emostage.state import InputState
from emostage.streaming import delta_of
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
TWO_SENTENCES = "Thank you for telling me. That sounds so hard, and you kept going."
OTHER_REPLY = "I am here with you. What happened today?"


def turns(dialogue: list[dict[str, str]]) -> list[Turn]:
    return [Turn.model_validate(turn) for turn in dialogue]


def model_down(messages: list[BaseMessage]) -> str:
    raise ModelUnavailableError("the test model is down")


class BrokenFirstStream(ScriptedChatModel):
    """Its first text answer breaks off mid-stream (a bad answer); then it answers."""

    broke: bool = False

    def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
        pieces = super()._stream(messages, stop, run_manager, **kw)
        if kw.get("json_schema") is None and not self.broke:
            self.broke = True
            yield from list(pieces)[:6]  # a sentence and a half are shown
            raise ValueError("the stream broke off")
        yield from pieces

    async def _astream(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Any:
        for piece in self._stream(messages, stop, None, **kw):
            yield piece


def deltas_of(events: Any) -> list[ReplyDelta]:
    return [delta for event in events if (delta := delta_of(event))]


def script(language: Language, case: str) -> dict[str, Any]:
    """ScriptedChatModel settings for one case: what the model answers."""
    counselor = load_prompts(language).labels.counselor
    cases: dict[str, dict[str, Any]] = {
        "plain": {},
        "labelled": {"defaults": {"text": f'{counselor}: "I hear you."'}},
        "thinking": {"defaults": {"text": "<think>plan the reply</think>\nI hear you."}},
        "quote_not_closing": {"defaults": {"text": '"No" is a full answer. Take your time.'}},
        "broken_stream": {},
        "broken_then_other": {},
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
    if case == "broken_stream":  # asked again, it writes the same
        return BrokenFirstStream(replies=[TWO_SENTENCES, TWO_SENTENCES])
    if case == "broken_then_other":  # asked again, it writes something else
        return BrokenFirstStream(replies=[TWO_SENTENCES, OTHER_REPLY])
    return ScriptedChatModel(**script(language, case))


ROUTINE_CASES = [
    "plain",
    "labelled",
    "thinking",
    "quote_not_closing",
    "broken_stream",
    "broken_then_other",
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
    told: list[ReplyDelta] = []
    stage.respond(dialogue, thread_id="on_text", on_text=told.append)
    seen["respond: on_text"] = shown_text(told)

    stage = EmoStage(new_model(), checkpointer=InMemorySaver())
    deltas = list(stage.stream(dialogue, thread_id="stream"))
    seen["stream"] = shown_text(deltas)
    if not any(delta.replaces for delta in deltas):  # the deltas are the reply's pieces
        seen["stream: joined"] = "".join(deltas)
    seen["stream: stored"] = stored(stage.graph, "stream")

    async def collect(stage: EmoStage) -> str:
        return shown_text([delta async for delta in stage.astream(dialogue, thread_id="astream")])

    stage = EmoStage(new_model(), checkpointer=InMemorySaver())
    seen["astream"] = asyncio.run(collect(stage))
    seen["astream: stored"] = stored(stage.graph, "astream")

    graph = build_graph(new_model(), checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "graph"}}
    events = graph.stream(InputState(dialogue=turns(dialogue)), config, stream_mode="custom")
    seen["graph.stream"] = shown_text(deltas_of(events))
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
    if case == "quote_not_closing":
        assert reply == '"No" is a full answer. Take your time.'
    if case == "broken_stream":
        assert reply == TWO_SENTENCES
    if case == "broken_then_other":
        assert reply == OTHER_REPLY
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
    streamed = shown_text(deltas_of(events))
    assert streamed == graph.get_state(config).values["response"]
    assert streamed.strip()


@pytest.mark.parametrize(
    "case", ["plain", "broken_stream", "broken_then_other", "empty_draft", "thinking"]
)
def test_the_messages_stream_ends_on_the_stored_reply(case: str) -> None:
    # What a chat front end on LangGraph Server reads: the reply as it is written, under
    # the stored message's id. When shown text had to be taken back, the stored reply
    # comes as a message of its own, complete.
    graph = build_graph(make_model("en", case), checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "m"}}
    payload = InputState(dialogue=turns([{"role": "client", "content": CLIENT["en"]}]))
    parts = [m for m, _ in graph.stream(payload, config, stream_mode="messages")]
    stored = graph.get_state(config).values["messages"][-1]
    by_id: dict[str, str] = {}
    assert parts[0].type == "human"  # the client's turn, read from the dialogue
    for message in parts[1:]:
        assert message.type in ("ai", "AIMessageChunk")  # never the analysis, never raw
        by_id[str(message.id)] = by_id.get(str(message.id), "") + str(message.content)
    assert by_id[str(stored.id)] == stored.content


def test_the_reply_is_shown_sentence_by_sentence_while_it_is_written() -> None:
    graph = build_graph(ScriptedChatModel(replies=[TWO_SENTENCES]))
    dialogue = InputState(dialogue=turns([{"role": "client", "content": CLIENT["en"]}]))
    order = []
    for mode, event in graph.stream(dialogue, stream_mode=["custom", "tasks"]):
        if mode == "custom" and (delta := delta_of(event)):
            order.append(("delta", delta.text))
        elif mode == "tasks" and "result" in event and event["name"].startswith("draft_"):
            order.append(("draft ended", ""))
    # Both sentences went out before the draft node had ended: as they were written.
    assert order == [
        ("delta", "Thank you for telling me. "),
        ("delta", "That sounds so hard, and you kept going."),
        ("draft ended", ""),
    ]


def test_an_answer_cut_off_and_written_again_the_same_goes_on_where_it_was_cut() -> None:
    stage = EmoStage(BrokenFirstStream(replies=[TWO_SENTENCES, TWO_SENTENCES]))
    deltas = list(stage.stream([{"role": "client", "content": CLIENT["en"]}]))
    assert deltas == ["Thank you for telling me. ", "That sounds so hard, and you kept going."]
    assert "".join(deltas) == TWO_SENTENCES and not any(d.replaces for d in deltas)


def test_an_answer_cut_off_then_written_otherwise_replaces_what_was_shown() -> None:
    stage = EmoStage(BrokenFirstStream(replies=[TWO_SENTENCES, OTHER_REPLY]))
    deltas = list(stage.stream([{"role": "client", "content": CLIENT["en"]}]))
    assert deltas[0] == ReplyDelta("Thank you for telling me. ")
    assert deltas[-1] == ReplyDelta(OTHER_REPLY, replaces=True)
    assert shown_text(deltas) == OTHER_REPLY


def test_a_failed_turn_retracts_what_it_showed_and_tells_the_client() -> None:
    class FailsAfterDrafting(InMemorySaver):
        def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
            if any(w.get("response") for w in [checkpoint.get("channel_values", {})]):
                raise OSError("the disk is full")
            return super().put(config, checkpoint, metadata, new_versions)

    stage = EmoStage(ScriptedChatModel(replies=[TWO_SENTENCES]), checkpointer=FailsAfterDrafting())
    told: list[ReplyDelta] = []
    with pytest.raises(OSError):
        stage.respond(
            [{"role": "client", "content": CLIENT["en"]}], thread_id="t", on_text=told.append
        )
    # What was shown is taken back, and the client is told their turn failed (the store
    # that failed the turn cannot keep that notice either).
    notice = load_prompts("en").failure_reply
    assert told and told[-1] == ReplyDelta(notice, replaces=True) and shown_text(told) == notice
