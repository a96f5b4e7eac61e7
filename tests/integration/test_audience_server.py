"""The two audiences under LangGraph Server (`langgraph dev`), as a chat client meets them.

A client-audience deployment (`EMOSTAGE_AUDIENCE=client`) streams the reply only in every
mode a client can ask for; its review holds the turn with a holding message, a message sent
meanwhile is refused with one line, and staff deliver the turn with a command on the
thread. A counselor-audience deployment refuses a message sent while a turn is paused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph_sdk.client import SyncLangGraphClient

from emostage.prompts import load_prompts

from .test_studio_server import langgraph_dev

pytestmark = pytest.mark.timeout(240)
CONTEXT = {"backend": "scripted", "locale": "en-US"}
# Every stream mode LangGraph Server offers a client but `events` (refused, below).
CLIENT_MODES: Any = [
    "values",
    "messages-tuple",
    "updates",
    "custom",
    "tasks",
    "checkpoints",
    "debug",
]
ANALYSIS_MARKERS = ("(scripted) placeholder", "phase_rationale", "'perspective'", "'risk'")
# A drafting node's name (`draft_crisis`, `draft_<phase>`) would tell the client the phase.
STRATEGY_NAME = re.compile(r"(?<![a-z_])draft_[a-z]")


@pytest.fixture(scope="module")
def client_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncLangGraphClient]:
    yield from langgraph_dev(tmp_path_factory, EMOSTAGE_AUDIENCE="client", EMOSTAGE_REVIEW="crisis")


@pytest.fixture(scope="module")
def counselor_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncLangGraphClient]:
    yield from langgraph_dev(tmp_path_factory, EMOSTAGE_REVIEW="crisis")


def said(text: str) -> Any:
    return {"messages": [{"role": "user", "content": text}]}


def stream(server: SyncLangGraphClient, thread: str, payload: Any, modes: Any) -> list[Any]:
    return list(
        server.runs.stream(thread, "emostage", input=payload, context=CONTEXT, stream_mode=modes)
    )


def errors(parts: list[Any]) -> list[str]:
    return [str(part.data.get("message", "")) for part in parts if part.event == "error"]


def test_a_client_stream_carries_the_reply_and_no_analysis(
    client_server: SyncLangGraphClient,
) -> None:
    thread = client_server.threads.create()["thread_id"]
    parts = stream(client_server, thread, said("Work is crushing me."), CLIENT_MODES)
    assert errors(parts) == [] and {p.event for p in parts} >= {"values", "messages", "updates"}
    text = repr([part.data for part in parts])
    assert [marker for marker in ANALYSIS_MARKERS if marker in text] == []
    assert STRATEGY_NAME.search(text) is None and "'draft'" in text
    state: Any = client_server.threads.get_state(thread)  # staff's view: the checkpoint
    assert state["values"]["perspective"] is not None
    reply = state["values"]["messages"][-1]
    assert reply["content"] == state["values"]["response"] in text
    assert reply["response_metadata"]["emostage"] == {"language": "en"}
    refused = stream(client_server, thread, said("And my boss."), "events")
    assert any("streams no events" in line for line in errors(refused))


def test_a_held_client_turn_refuses_new_messages_until_staff_decide(
    client_server: SyncLangGraphClient,
) -> None:
    thread = client_server.threads.create()["thread_id"]
    parts = stream(client_server, thread, said("I want to kill myself tonight."), CLIENT_MODES)
    assert errors(parts) == [] and "__interrupt__" not in repr([p.data for p in parts])
    assert STRATEGY_NAME.search(repr([p.data for p in parts])) is None
    holding = load_prompts("en").holding_reply
    # The held draft's crisis resources are not shown. (Not "988": an id may contain it.)
    shown = repr([p.data for p in parts])
    assert holding in shown and "Suicide & Crisis Lifeline" not in shown
    state: Any = client_server.threads.get_state(thread)
    assert state["interrupts"] == [] and state["values"]["messages"][-1]["content"] == holding
    assert state["values"]["awaiting_review"]["message"].startswith("(scripted test reply)")

    again = stream(client_server, thread, said("hello?"), ["values"])
    assert errors(again) == [load_prompts("en").review_pending]
    assert len(client_server.threads.get_state(thread)["values"]["messages"]) == 2  # type: ignore[call-overload]

    typo: Any = {"update": {"review_decision": "aprove"}, "goto": "deliver_reply"}
    refused = list(client_server.runs.stream(thread, "emostage", command=typo, context=CONTEXT))
    assert [line for line in errors(refused) if "got 'aprove'" in line]
    pairs: Any = {"update": [["review_decision", "bogus"]], "goto": "deliver_reply"}
    refused = list(client_server.runs.stream(thread, "emostage", command=pairs, context=CONTEXT))
    assert [line for line in errors(refused) if "got 'bogus'" in line]
    resumed = list(
        client_server.runs.stream(
            thread, "emostage", command={"resume": "approve"}, context=CONTEXT
        )
    )
    assert [line for line in errors(resumed) if "held for staff, not paused" in line]
    kept: Any = client_server.threads.get_state(thread)["values"]
    assert kept.get("review_decision") is None and kept["awaiting_review"]  # nothing stored

    decision = {"decisions": [{"type": "respond", "message": "I'm here with you."}]}
    command: Any = {"update": {"review_decision": decision}, "goto": "deliver_reply"}
    client_server.runs.wait(thread, "emostage", command=command, context=CONTEXT)
    values: Any = client_server.threads.get_state(thread)["values"]
    assert [m["type"] for m in values["messages"]] == ["human", "ai", "ai"]
    assert values["response"].startswith("I'm here with you.\n\n") and "988" in values["response"]
    assert values["messages"][-1]["content"] == values["response"]
    assert values["awaiting_review"] is None and values["review"]["action"] == "own"
    assert errors(stream(client_server, thread, said("Thank you."), ["values"])) == []


def test_a_counselor_message_while_paused_is_refused_in_one_line(
    counselor_server: SyncLangGraphClient,
) -> None:
    thread = counselor_server.threads.create()["thread_id"]
    stream(counselor_server, thread, said("I want to kill myself tonight."), ["values"])
    assert counselor_server.threads.get_state(thread)["interrupts"]
    again = stream(counselor_server, thread, said("hello?"), ["values"])
    assert len(errors(again)) == 1 and "awaits review; decide it first" in errors(again)[0]
    values: Any = counselor_server.threads.get_state(thread)["values"]
    assert [m["content"] for m in values["messages"]] == ["I want to kill myself tonight."]
    bad = list(
        counselor_server.runs.stream(
            thread, "emostage", command={"resume": "yes"}, context=CONTEXT, stream_mode="values"
        )
    )
    assert [line for line in errors(bad) if "got 'yes'" in line]  # refused, nothing stored
    done = counselor_server.runs.wait(
        thread, "emostage", command={"resume": "approve"}, context=CONTEXT
    )
    assert "988" in done["response"]  # type: ignore[call-overload]
