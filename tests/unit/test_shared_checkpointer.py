"""One checkpointer shared by a host app and EmoStage: each loads its own types back.

EmoStage registers its state classes on a clone of whatever checkpointer runs it; the
host's checkpointer and serializer are never changed, so the host's pydantic state comes
back as itself, not as a dict, and LangGraph warns about no EmoStage class.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde import jsonplus
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import START, MessagesState, StateGraph
from pydantic import BaseModel

from emostage import build_graph
from emostage.analysis import Perspective
from emostage.conversation import Turn
from emostage.testing import ScriptedChatModel

TURN: Any = {"dialogue": [{"role": "client", "content": "I can't sleep at night."}]}


class Order(BaseModel):
    """A host app's own pydantic type."""

    item: str
    quantity: int


@dataclass
class HostState:
    order: Order | None = None


def host_graph(checkpointer: InMemorySaver) -> Any:
    builder = StateGraph(HostState)
    builder.add_node("take_order", lambda _: {"order": Order(item="tea", quantity=2)})
    builder.add_edge(START, "take_order")
    return builder.compile(checkpointer=checkpointer)


def thread(name: str) -> Any:
    return {"configurable": {"thread_id": name}}


@pytest.fixture
def warnings_seen(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> pytest.LogCaptureFixture:
    """LangGraph warns once per type and process: forget what it warned about before."""
    for seen in ("_warned_unregistered_types", "_warned_blocked_types"):
        monkeypatch.setattr(jsonplus, seen, set())
    caplog.set_level(logging.WARNING, logger=jsonplus.logger.name)
    return caplog


SERIALIZERS: dict[str, Callable[[], JsonPlusSerializer | None]] = {
    "LangGraph's permissive default": lambda: None,
    "a strict allowlist of the host's": lambda: JsonPlusSerializer(allowed_msgpack_modules=[Order]),
}


@pytest.mark.parametrize("serializer", SERIALIZERS)
def test_host_and_emostage_state_round_trip_through_one_checkpointer(
    serializer: str, warnings_seen: pytest.LogCaptureFixture
) -> None:
    shared = InMemorySaver(serde=SERIALIZERS[serializer]())
    host_serde = shared.serde
    host = host_graph(shared)
    stage = build_graph(ScriptedChatModel(), checkpointer=shared)
    assert shared.serde is host_serde  # untouched

    host.invoke({}, thread("host"))
    stage.invoke(TURN, thread("emostage"))
    # Fresh graphs on the same saver read everything back as the classes it was.
    order = host_graph(shared).get_state(thread("host")).values["order"]
    values = (
        build_graph(ScriptedChatModel(), checkpointer=shared).get_state(thread("emostage")).values
    )
    assert order == Order(item="tea", quantity=2)
    assert all(isinstance(turn, Turn) for turn in values["dialogue"])
    assert isinstance(values["perspective"], Perspective)
    emostage_warnings = [r for r in warnings_seen.records if "emostage" in r.getMessage()]
    assert emostage_warnings == []


def test_a_parent_graphs_checkpointer_loads_emostage_state_without_warnings(
    warnings_seen: pytest.LogCaptureFixture,
) -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("counselor", build_graph(ScriptedChatModel()))
    builder.add_edge(START, "counselor")
    parent: Any = builder.compile(checkpointer=InMemorySaver())
    parent.invoke({"messages": [("user", "I can't sleep at night.")]}, thread("p"))
    state = parent.get_state(thread("p"), subgraphs=True)
    assert state.values["messages"][-1].type == "ai"
    assert not [r for r in warnings_seen.records if "emostage" in r.getMessage()]


def test_without_registration_langgraph_would_warn(
    warnings_seen: pytest.LogCaptureFixture,
) -> None:
    """The control: the same load through the host's own serializer does warn."""
    shared = InMemorySaver()
    build_graph(ScriptedChatModel(), checkpointer=shared).invoke(TURN, thread("e"))
    saved = shared.get_tuple(thread("e"))
    assert saved is not None
    assert any(isinstance(t, Turn) for t in saved.checkpoint["channel_values"]["dialogue"])
    assert any("emostage.state" in r.getMessage() for r in warnings_seen.records)
