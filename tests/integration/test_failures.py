"""A failed turn stays visible: the thread records it and the client is told, on every path."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from emostage import Context, EmoStage, InputError, ModelUnavailableError, ReplyDelta, shown_text
from emostage.failures import failure_update
from emostage.graph import build_graph
from emostage.prompts import load_prompts
from emostage.state import TURN_ENDED
from emostage.streaming import FAILED_KEY, delta_of
from emostage.testing.ollama_server import FakeOllama

LINES = {
    "en": "Work is crushing me.",
    "ja": "仕事がつらくて、もう限界です。",
    "zh": "工作压得我喘不过气。",
}


@pytest.fixture(scope="module")
def down() -> Iterator[FakeOllama]:
    with FakeOllama(fault="refuse") as server:
        yield server


def stage(url: str) -> EmoStage:
    return EmoStage(ollama_host=url, model_attempts=1, checkpointer=InMemorySaver())


def said(text: str) -> list[dict[str, str]]:
    return [{"role": "client", "content": text}]


def values(stage: EmoStage, thread: str) -> dict[str, Any]:
    return stage.graph.get_state({"configurable": {"thread_id": thread}}).values


@pytest.mark.parametrize("language", list(LINES))
def test_a_failed_turn_is_recorded_and_the_client_told_in_their_language(
    down: FakeOllama, language: str
) -> None:
    failing = stage(down.url)
    with pytest.raises(ModelUnavailableError) as caught:
        failing.respond(said(LINES[language]), thread_id="t")
    assert "\n" not in str(caught.value)  # the developer's error stays one line
    state = values(failing, "t")
    notice = state["messages"][-1]
    assert notice.content == load_prompts(language).failure_reply
    assert notice.response_metadata["emostage"]["failed"] is True
    assert state["failure"].error == type(caught.value).__name__
    assert state["failure"].message == str(caught.value) and state["failure"].turn == 1
    # Not a counselor turn: the dialogue still ends with the client, and the turn is closed.
    assert [t.role for t in state["dialogue"]] == ["client"]
    assert failing.graph.get_state({"configurable": {"thread_id": "t"}}).next == ()


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_the_stream_ends_with_the_notice_the_thread_keeps(down: FakeOllama, path: str) -> None:
    failing = stage(down.url)
    deltas: list[ReplyDelta] = []

    async def collect() -> None:
        async for delta in failing.astream(said(LINES["en"]), thread_id="s"):
            deltas.append(delta)

    with pytest.raises(ModelUnavailableError):
        if path == "stream":
            deltas.extend(failing.stream(said(LINES["en"]), thread_id="s"))
        else:
            asyncio.run(collect())
    assert deltas and deltas[-1].replaces
    assert shown_text(deltas) == values(failing, "s")["messages"][-1].content


def test_the_next_turn_answers_both_messages_and_clears_the_failure(down: FakeOllama) -> None:
    store = InMemorySaver()
    with pytest.raises(ModelUnavailableError):
        EmoStage(ollama_host=down.url, model_attempts=1, checkpointer=store).respond(
            said("Work is crushing me."), thread_id="n"
        )
    with FakeOllama() as up:
        working = EmoStage(ollama_host=up.url, checkpointer=store)
        more: Any = {"messages": [{"role": "user", "content": "And I can't sleep."}]}
        # As a chat front end sends it: the new message alone.
        working.graph.invoke(more, {"configurable": {"thread_id": "n"}}, context=working.context)
    state = values(working, "n")
    assert state["failure"] is None and state["messages"][-1].content == state["response"]
    # The two unanswered messages are one client turn; the notice stays only in the messages.
    assert [t.role for t in state["dialogue"]] == ["client", "counselor"]
    assert "Work is crushing me." in state["dialogue"][0].content
    assert [m.type for m in state["messages"]] == ["human", "ai", "human", "ai"]


def test_the_raw_graph_streams_the_notice_and_the_recorded_state(down: FakeOllama) -> None:
    graph = build_graph(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "g"}}
    context = {"ollama_host": down.url, "model_attempts": 1}
    chunks: list[Any] = []
    payload: Any = {"messages": [{"role": "user", "content": "Hello."}]}
    with pytest.raises(ModelUnavailableError):
        for chunk in graph.stream(
            payload, config, context=context, stream_mode=["values", "custom"]
        ):
            chunks.append(chunk)
    (mode, notice), (last_mode, last) = chunks[-2:]
    assert mode == "custom" and notice[FAILED_KEY] is True
    assert last_mode == "values" and last["failure"] is not None
    assert last["messages"][-1].content == delta_of(notice)


def test_without_a_thread_the_client_is_told_and_nothing_is_kept(down: FakeOllama) -> None:
    failing = EmoStage(ollama_host=down.url, model_attempts=1)
    deltas: list[ReplyDelta] = []
    with pytest.raises(ModelUnavailableError):
        deltas.extend(failing.stream(said(LINES["ja"])))
    assert shown_text(deltas) == load_prompts("ja").failure_reply


def test_bad_input_records_nothing(down: FakeOllama) -> None:
    graph = build_graph(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "b"}}
    both: Any = {"messages": [{"role": "user", "content": "Hi."}], "dialogue": said("Hi.")}
    with pytest.raises(InputError):
        graph.invoke(both, config, context=Context(ollama_host=down.url))
    assert graph.get_state(config).values.get("failure") is None


def test_messages_sent_after_failed_turns_all_stay_in_the_thread(down: FakeOllama) -> None:
    failing = stage(down.url)
    for text in ("first", "second", "third"):
        with pytest.raises(ModelUnavailableError):
            failing.respond(said(text), thread_id="m")
    state = values(failing, "m")
    assert [t.content for t in state["dialogue"]] == ["first\nsecond\nthird"]
    humans = [m.content for m in state["messages"] if m.type == "human"]
    assert humans == ["first", "second", "third"]


def test_a_rewrite_with_the_model_down_sends_the_draft_and_says_so(down: FakeOllama) -> None:
    reply = stage(down.url).rewrite(said("Work is crushing me."), "You should rest.", thread_id="r")
    assert reply.response == "You should rest." and reply.diagnostics.fallbacks


def test_a_failed_turn_ends_it_as_a_delivered_one_does() -> None:
    update = failure_update({}, ModelUnavailableError("down"), Context())
    assert TURN_ENDED.items() <= update.items()  # the counselor's draft too: no rewrite again
