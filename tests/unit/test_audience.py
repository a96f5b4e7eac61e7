"""Two audiences: a client sees the reply only; a counselor sees the analysis.

A client-audience graph streams, in every stream mode, nothing of the analysis; its review
holds the turn with a holding message, and staff decide on the thread. While a turn awaits
review, a new message is refused with one line and nothing of it is stored.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from emostage import ConfigError, EmoStage, InputError
from emostage.audience import decision_command
from emostage.graph import build_graph
from emostage.prompts import load_prompts
from emostage.streaming import shown_text
from emostage.testing import ScriptedChatModel

from ..conftest import emostage

DRAFT = "Thank you for telling me. Are you safe right now?"
CRISIS = "I want to kill myself tonight."
ROUTINE = "Work was long today and I feel worn out."
# Every piece of the scripted analysis, as a client must never receive it.
ANALYSIS_MARKERS = (
    "(scripted) placeholder",
    "phase_rationale",
    "'perspective'",
    "'risk'",
    "'phase'",
)
ALL_MODES: Any = ["values", "updates", "messages", "custom", "tasks", "checkpoints", "debug"]


def model() -> ScriptedChatModel:
    return ScriptedChatModel(defaults={"text": DRAFT})


def client(text: str) -> list[dict[str, str]]:
    return [{"role": "client", "content": text}]


def turn(text: str) -> Any:
    """A graph input: the client's turn as dialogue."""
    return {"dialogue": client(text)}


def user(text: str) -> Any:
    """A graph input: the client's turn as a chat message."""
    return {"messages": [{"role": "user", "content": text}]}


def config(thread: str) -> Any:
    return {"configurable": {"thread_id": thread}}


def strategy_nodes(graph: Any) -> list[str]:
    """The graph's drafting nodes, whose names tell the strategy, and so the phase."""
    return [name for name in graph.nodes if name.startswith("draft_")]


def leaks(chunks: list[Any]) -> list[str]:
    """The analysis markers found in a stream's chunks."""
    text = repr(chunks)
    return [marker for marker in ANALYSIS_MARKERS if marker in text]


def test_a_client_stream_carries_no_analysis_in_any_mode_or_shape() -> None:
    graph = build_graph(model(), checkpointer=InMemorySaver(), audience="client")
    shapes: list[dict[str, Any]] = [
        {"stream_mode": ALL_MODES},
        {"stream_mode": ALL_MODES, "subgraphs": True},
        {"stream_mode": ALL_MODES, "version": "v2"},
        {"stream_mode": "values"},
        {"stream_mode": "updates", "subgraphs": True},
        {"stream_mode": "debug"},
        {},
    ]
    strategies = strategy_nodes(graph)
    for number, options in enumerate(shapes):
        for text in (ROUTINE, CRISIS):
            thread = config(f"s{number}{text}")
            chunks = list(graph.stream(turn(text), thread, **options))
            assert chunks and leaks(chunks) == [], options
            assert [name for name in strategies if name in repr(chunks)] == [], options
            assert graph.get_state(thread).values["perspective"] is not None

    async def async_run() -> list[Any]:
        run = graph.astream(turn(CRISIS), config("async"), stream_mode=ALL_MODES)
        return [chunk async for chunk in run]

    chunks = asyncio.run(async_run())
    assert leaks(chunks) == [] and [name for name in strategies if name in repr(chunks)] == []
    assert "'draft'" in repr(chunks)


def test_the_same_run_for_a_counselor_streams_the_analysis() -> None:
    graph = build_graph(model(), checkpointer=InMemorySaver())
    chunks = list(graph.stream(turn(ROUTINE), config("c"), stream_mode=ALL_MODES))
    assert set(leaks(chunks)) == set(ANALYSIS_MARKERS)  # the check above can see a leak
    assert [name for name in strategy_nodes(graph) if name in repr(chunks)] != []
    (reply,) = [m for m in graph.get_state(config("c")).values["messages"] if m.type == "ai"]
    assert set(reply.response_metadata["emostage"]) >= {"phase", "risk", "perspective"}


def test_a_client_reply_that_names_a_node_is_shown_as_stored() -> None:
    said = "My notes call this draft_crisis, but I am fine."
    graph = build_graph(
        ScriptedChatModel(defaults={"text": said}), checkpointer=InMemorySaver(), audience="client"
    )
    chunks = list(graph.stream(turn(ROUTINE), config("n"), stream_mode=ALL_MODES))
    stored = graph.get_state(config("n")).values["response"]
    assert stored == said
    (last,) = [payload for mode, payload in chunks if mode == "values"][-1:]
    assert last["response"] == said and last["messages"][-1].content == said
    streamed = "".join(
        str(payload[0].content)
        for mode, payload in chunks
        if mode == "messages" and payload[0].type != "human"
    )
    assert streamed == said
    named = [payload for mode, payload in chunks if mode == "updates"]
    assert {"draft"} <= {key for update in named for key in update}


def test_a_client_gets_the_reply_only_in_output_and_message_metadata() -> None:
    graph = build_graph(model(), checkpointer=InMemorySaver(), audience="client")
    output = graph.invoke(user(ROUTINE), config("o"))
    assert set(output) == {"messages", "response"} and output["response"] == DRAFT
    assert output["messages"][-1].response_metadata == {"emostage": {"language": "en"}}
    asynced = asyncio.run(graph.ainvoke(turn(ROUTINE), config("a")))
    assert set(asynced) == {"messages", "response"}


def test_a_client_graph_refuses_staff_streams_in_one_line() -> None:
    graph = build_graph(model(), checkpointer=InMemorySaver(), audience="client")
    with pytest.raises(ConfigError, match="outputs messages and response only, not phase"):
        list(graph.stream(turn(ROUTINE), config("k"), output_keys=["phase"]))
    with pytest.raises(ConfigError, match="streams no events"):
        graph.astream_events(turn(ROUTINE), config("e"), version="v2")
    assert graph.audience == "client" and build_graph(model()).audience == "counselor"
    with pytest.raises(ConfigError, match="Unknown audience 'public'"):
        build_graph(model(), audience="public")  # type: ignore[arg-type]


@pytest.mark.parametrize(("language", "text"), [("en", CRISIS), ("ja", "今夜、死にたい。")])
def test_a_held_client_turn_shows_a_holding_message_not_the_reply(language: Any, text: str) -> None:
    stage = EmoStage(model(), review="crisis", audience="client")
    held = stage.respond(client(text), thread_id="h")
    assert held.status == "awaiting_review" and held.response == ""
    assert held.pending_review is not None and held.pending_review.message == DRAFT
    assert held.phase is not None or held.risk.level == "crisis"  # the API is staff's
    values = stage.graph.get_state(config("h")).values
    holding = values["messages"][-1]
    assert holding.content == load_prompts(language).holding_reply
    assert [t.role for t in values["dialogue"]] == ["client"]  # not a counselor turn
    assert values["response"] == "" and not stage.graph.get_state(config("h")).interrupts
    assert stage.pending_review("h") == held.pending_review


def test_a_client_message_while_held_is_refused_in_their_language_and_not_stored() -> None:
    stage = EmoStage(model(), review="crisis", audience="client")
    stage.respond(client("今夜、死にたい。"), thread_id="q")
    before = stage.graph.get_state(config("q")).values
    with pytest.raises(InputError) as refused:
        stage.respond(client("まだですか？"), thread_id="q")
    assert str(refused.value) == load_prompts("ja").review_pending
    with pytest.raises(InputError):  # the raw graph, the async path: the same refusal
        stage.graph.invoke(user("hello?"), config("q"))
    with pytest.raises(InputError):
        asyncio.run(stage.arespond(client("hello?"), thread_id="q"))
    after = stage.graph.get_state(config("q")).values
    assert after["messages"] == before["messages"] and after["dialogue"] == before["dialogue"]


def test_staff_decide_a_held_turn_and_the_client_thread_goes_on() -> None:
    stage = EmoStage(model(), review="crisis", audience="client")
    request = stage.respond(client(CRISIS), thread_id="d").pending_review
    assert request is not None
    reply = stage.resume("d", {"decisions": [{"type": "respond", "message": "I'm here. Call?"}]})
    assert reply.status == "delivered" and reply.response.startswith("I'm here. Call?\n\n")
    assert "988" in reply.response and reply.review is not None and reply.review.action == "own"
    values = stage.graph.get_state(config("d")).values
    texts = [m.content for m in values["messages"]]
    assert texts == [CRISIS, load_prompts("en").holding_reply, reply.response]
    assert values["awaiting_review"] is None and values["review_decision"] is None
    assert stage.pending_review("d") is None
    # The next message is taken as the next turn (held again: the safety watch goes on).
    assert stage.respond(client(ROUTINE), thread_id="d").pending_review is not None
    dialogue = stage.graph.get_state(config("d")).values["dialogue"]
    assert [t.role for t in dialogue] == ["client", "counselor", "client"]


def test_the_raw_graph_takes_the_decision_as_a_command_and_refuses_one_for_nothing() -> None:
    graph = build_graph(model(), checkpointer=InMemorySaver(), review="always", audience="client")
    graph.invoke(turn(ROUTINE), config("r"))
    output = graph.invoke(
        decision_command({"action": "edit", "response": "I hear you."}), config("r")
    )
    assert output == {"messages": output["messages"], "response": "I hear you."}
    with pytest.raises(InputError, match="No turn of this thread awaits review"):
        graph.invoke(decision_command("approve"), config("r"))
    with pytest.raises(InputError, match="has no turn awaiting review"):
        EmoStage(model(), audience="client").resume("none", "approve")


def test_a_counselor_message_while_paused_is_refused_and_not_stored() -> None:
    stage = EmoStage(model(), review="crisis")
    stage.respond(client(CRISIS), thread_id="p")
    before = stage.graph.get_state(config("p")).values
    for attempt in (
        lambda: stage.respond(client("hello?"), thread_id="p"),
        lambda: asyncio.run(stage.arespond(client("hello?"), thread_id="p")),
        lambda: list(stage.stream(client("hello?"), thread_id="p")),
        lambda: stage.graph.invoke(turn("hello?"), config("p")),
    ):
        with pytest.raises(InputError, match="Turn 1 awaits review; decide it first"):
            attempt()
    assert stage.graph.get_state(config("p")).values["messages"] == before["messages"]
    assert stage.graph.invoke(Command(resume="approve"), config("p"))["response"].startswith(DRAFT)


def test_the_studio_graph_reads_its_audience(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOSTAGE_AUDIENCE", "client")
    studio = importlib.reload(importlib.import_module("emostage.studio"))
    assert studio.graph.audience == "client"
    monkeypatch.delenv("EMOSTAGE_AUDIENCE")
    assert importlib.reload(studio).graph.audience == "counselor"


@pytest.mark.usefixtures("scripted_cli")
def test_chat_for_a_client_shows_the_holding_message_then_the_reviewed_reply() -> None:
    steps = f"{CRISIS}\ne\nI'm right here with you. Are you safe?\n/quit\n"
    result = emostage("chat", "--session", "c1", "--review", "--audience", "client", input=steps)
    assert result.exit_code == 0, result.output
    holding = result.output.index(load_prompts("en").holding_reply)
    reply = result.output.index("counselor> I'm right here with you. Are you safe?")
    assert holding < reply and "(crisis)" not in result.output  # no analysis shown
    assert "review (risk: crisis" in result.stderr and "review" not in result.stdout  # operator's
    for prompt in ("[a]pprove", "text>"):  # the operator's prompts too
        assert prompt in result.stderr and prompt not in result.stdout
    bad = emostage("chat", "--audience", "public", input="/quit\n")
    assert bad.exit_code == 2 and "Unknown audience 'public'" in bad.output


def test_every_api_path_of_a_client_stage_shows_what_it_stores() -> None:
    stage = EmoStage(model(), audience="client", checkpointer=InMemorySaver())
    stages: list[frozenset[str]] = []
    reply = stage.respond(client(ROUTINE), thread_id="p1", on_stage=stages.append)
    assert reply.response == DRAFT and reply.phase == "exploration"  # staff's Reply: analysis
    assert any("take_perspective" in running for running in stages)  # stages still told
    assert shown_text(stage.stream(client(ROUTINE), thread_id="p2")) == DRAFT

    async def streamed() -> str:
        return shown_text([d async for d in stage.astream(client(ROUTINE), thread_id="p3")])

    assert asyncio.run(streamed()) == DRAFT
    assert asyncio.run(stage.arespond(client(ROUTINE), thread_id="p4")).perspective is not None
    for thread in ("p2", "p3"):
        assert stage.graph.get_state(config(thread)).values["response"] == DRAFT
    held = EmoStage(model(), audience="client", review="crisis")
    holding = load_prompts("en").holding_reply
    assert shown_text(held.stream(client(CRISIS), thread_id="h")) == holding  # not the draft
    paused = held.respond(client(CRISIS), thread_id="h2")
    assert paused.response == "" and paused.holding == holding
    assert held.resume("h2", "approve").holding == ""
