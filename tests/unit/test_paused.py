"""A bad decision never jams a turn awaiting review, whoever sends it.

A decision is read against the waiting turn before the run starts: one that would fail is
refused in one line and nothing of it is stored, so the right decision still delivers
(`emostage.paused`). Before, a misspelt resume value stayed in the checkpoint and failed
every later resume, and a bad `review_decision` made the thread unreadable.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command, Send

from emostage import EmoStage, InputError
from emostage.audience import decision_command
from emostage.graph import build_graph
from emostage.testing import ScriptedChatModel

CRISIS = "I want to kill myself tonight."
DRAFT = "Thank you for telling me. Are you safe right now?"
OWN = "I'm here with you."
# Decisions that fail, each with what its one-line refusal names.
BAD: list[tuple[Any, str]] = [
    ("yes", "got 'yes'"),
    ({"action": "aprove"}, "got action 'aprove'"),
    ({"decisions": [{"type": "reject"}]}, "needs your own reply as its message"),
    ({"action": "pick", "candidate": 4}, "drafted one reply: there is no candidate 4"),
    ({"action": "pick", "candidate": 0}, "picked by its number, from 1, not '0'"),
    ({"action": "edit", "response": "  "}, "needs a non-empty response"),
]


def crisis_graph(audience: Any) -> Any:
    model = ScriptedChatModel(defaults={"text": DRAFT})
    return build_graph(model, checkpointer=InMemorySaver(), review="crisis", audience=audience)


def config(thread: str) -> Any:
    return {"configurable": {"thread_id": thread}}


def held(graph: Any, thread: str) -> Any:
    """A thread whose crisis turn awaits review."""
    graph.invoke({"messages": [{"role": "user", "content": CRISIS}]}, config(thread))
    return config(thread)


def resume(decision: Any) -> Any:
    return Command(resume=decision)


@pytest.mark.parametrize(
    ("audience", "command"), [("counselor", resume), ("client", decision_command)]
)
def test_a_bad_decision_is_refused_and_the_right_one_still_delivers(
    audience: Any, command: Any
) -> None:
    graph = crisis_graph(audience)
    thread = held(graph, audience)
    before = graph.get_state(thread)
    for decision, named in BAD:
        with pytest.raises(InputError, match=named):
            graph.invoke(command(decision), thread)
        after = graph.get_state(thread)  # nothing was stored: the same checkpoint
        assert after.config == before.config and after.values.get("review_decision") is None
    output = graph.invoke(command({"action": "own", "response": OWN}), thread)
    assert output["response"].startswith(OWN + "\n\n") and "988" in output["response"]


def test_the_async_paths_refuse_it_the_same() -> None:
    graph = crisis_graph("counselor")
    thread = held(graph, "async")

    async def decide(decision: Any) -> Any:
        return await graph.ainvoke(Command(resume=decision), thread)

    with pytest.raises(InputError, match="got 'yes'"):
        asyncio.run(decide("yes"))
    assert asyncio.run(decide("approve"))["response"].startswith(DRAFT)


def test_a_resume_keyed_by_its_interrupt_is_read_as_its_value() -> None:
    graph = crisis_graph("counselor")
    thread = held(graph, "keyed")
    (pause,) = graph.get_state(thread).interrupts
    with pytest.raises(InputError, match="got 'yes'"):
        graph.invoke(Command(resume={pause.id: "yes"}), thread)
    output = graph.invoke(Command(resume={pause.id: "approve"}), thread)
    assert output["response"].startswith(DRAFT)


def test_a_decision_that_comes_the_wrong_way_or_for_nothing_is_refused() -> None:
    counselor, client = crisis_graph("counselor"), crisis_graph("client")
    paused, kept = held(counselor, "w1"), held(client, "w2")
    with pytest.raises(InputError, match="held for staff, not paused"):
        client.invoke(Command(resume="approve"), kept)
    with pytest.raises(InputError, match=r"paused \(an interrupt\): send the decision as Command"):
        counselor.invoke(decision_command("approve"), paused)
    with pytest.raises(InputError, match="No turn of this thread awaits review"):
        counselor.invoke(Command(resume="approve"), config("nothing"))
    assert client.invoke(decision_command("approve"), kept)["response"].startswith(DRAFT)
    assert counselor.invoke(Command(resume="approve"), paused)["response"].startswith(DRAFT)


def test_a_thread_opened_by_the_other_audience_is_decided_or_refused_in_one_line() -> None:
    store = InMemorySaver()
    model = ScriptedChatModel(defaults={"text": DRAFT})
    as_counselor = EmoStage(model, checkpointer=store, review="crisis")
    as_client = EmoStage(model, checkpointer=store, review="crisis", audience="client")
    as_counselor.respond([{"role": "client", "content": CRISIS}], thread_id="paused")
    with pytest.raises(InputError, match="paused for a counselor"):
        as_client.pending_review("paused")
    with pytest.raises(InputError, match="paused for a counselor"):
        as_client.resume("paused", "approve")
    assert as_counselor.resume("paused", "approve").response.startswith(DRAFT)
    # A turn held for staff can be decided by a counselor-facing graph: it reads the state.
    as_client.respond([{"role": "client", "content": CRISIS}], thread_id="held")
    assert as_counselor.pending_review("held") is not None
    assert as_counselor.resume("held", "approve").response.startswith(DRAFT)


@pytest.mark.parametrize(
    ("audience", "command"), [("counselor", resume), ("client", decision_command)]
)
def test_a_decision_as_update_pairs_is_read_too(audience: Any, command: Any) -> None:
    graph = crisis_graph(audience)
    thread = held(graph, f"pairs-{audience}")
    pairs = Command(update=[("review_decision", "bogus")], goto="deliver_reply")
    with pytest.raises(InputError, match=r"got 'bogus'|paused \(an interrupt\)"):
        graph.invoke(pairs, thread)
    assert graph.invoke(command("approve"), thread)["response"].startswith(DRAFT)
    late = Command(update=[("review_decision", "approve")], goto="deliver_reply")
    with pytest.raises(InputError, match="No turn of this thread awaits review"):
        graph.invoke(late, thread)  # after delivery: refused, not kept to fail the next turn
    assert graph.invoke({"messages": [{"role": "user", "content": "Thanks."}]}, thread)


@pytest.mark.parametrize(
    "other",
    [
        Command(goto=Send("deliver_reply", {"draft": "x"})),
        Command(update={"awaiting_review": None}),
        Command(goto="deliver_reply"),
    ],
)
def test_no_other_command_runs_on_a_turn_awaiting_review(other: Any) -> None:
    graph = crisis_graph("client")
    thread = held(graph, "other")
    with pytest.raises(InputError, match="a run on it brings the decision"):
        graph.invoke(other, thread)
    assert graph.get_state(thread).values["awaiting_review"] is not None  # still held
    assert graph.invoke(decision_command("approve"), thread)["response"].startswith(DRAFT)


@pytest.mark.parametrize("audience", ["counselor", "client"])
def test_a_raw_graph_on_a_session_store_keeps_its_pause(audience: Any, tmp_path: Any) -> None:
    model = ScriptedChatModel(defaults={"text": DRAFT})
    store = EmoStage(model, store=tmp_path / "s.sqlite", review="crisis", audience=audience)
    thread = held(store.graph, "stored")  # a raw run, with LangGraph's default durability
    assert store.pending_review("stored") is not None
    assert store.resume("stored", "approve").response.startswith(DRAFT)
    assert store.graph.get_state(thread).values["response"].startswith(DRAFT)
    store.close()
