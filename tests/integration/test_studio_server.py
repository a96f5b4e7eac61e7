"""EmoStage under LangGraph Server (`langgraph dev`, what Studio talks to), for real.

The server hides the message of most exceptions as "An internal error occurred"; every
`EmoStageError` must reach a Studio user as its own one-line message.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain.agents.middleware.human_in_the_loop import HITLRequest
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient
from pydantic import TypeAdapter

from emostage.testing import SCRIPTED_REWRITE, ScriptedChatModel
from emostage.testing.ollama_server import FakeOllama

from ..conftest import ROOT, cli_env, free_port, server_process

pytestmark = pytest.mark.timeout(240)
TURN: dict[str, Any] = {"dialogue": [{"role": "client", "content": "Work is crushing me."}]}
CRISIS: dict[str, Any] = {"dialogue": [{"role": "client", "content": "I want to kill myself."}]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncLangGraphClient]:
    yield from langgraph_dev(tmp_path_factory)


@pytest.fixture(scope="module")
def review_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncLangGraphClient]:
    yield from langgraph_dev(tmp_path_factory, EMOSTAGE_REVIEW="crisis")


def langgraph_dev(
    tmp_path_factory: pytest.TempPathFactory, **settings: str
) -> Iterator[SyncLangGraphClient]:
    port = free_port()
    env = cli_env(LANGGRAPH_NO_VERSION_CHECK="true", LANGSMITH_TRACING="false", **settings)
    log = tmp_path_factory.mktemp("server") / "langgraph-dev.log"
    command = [
        str(Path(sys.executable).with_name("langgraph")),
        *("dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)),
    ]
    url = f"http://127.0.0.1:{port}"
    with server_process(command, f"{url}/ok", timeout_s=120, log=log, cwd=ROOT, env=env):
        yield get_sync_client(url=url)


def run(client: SyncLangGraphClient, payload: dict[str, Any], context: dict[str, Any]) -> Any:
    thread = client.threads.create()
    return client.runs.wait(thread["thread_id"], "emostage", input=payload, context=context)


def errors(client: SyncLangGraphClient, context: dict[str, Any]) -> list[dict[str, Any]]:
    parts = client.runs.stream(None, "emostage", input=TURN, context=context)
    return [part.data for part in parts if part.event == "error"]


def test_a_turn_runs_under_the_server(server: SyncLangGraphClient) -> None:
    output = run(server, TURN, {"backend": "scripted"})
    assert output["response"].startswith("(scripted test reply)")


def test_a_config_error_reaches_studio_as_its_own_line(server: SyncLangGraphClient) -> None:
    [error] = errors(server, {"backend": "cloud"})
    assert error["error"] == "ConfigError"
    assert error["message"].startswith("Unknown backend 'cloud'; use one of")


def test_a_model_outage_reaches_studio_and_a_crisis_turn_still_answers(
    server: SyncLangGraphClient,
) -> None:
    with FakeOllama(fault="refuse") as down:
        context = {"ollama_host": down.url, "model_attempts": 1, "locale": "en-US"}
        [error] = errors(server, context)
        crisis = run(server, CRISIS, context)
    assert error["error"] == "TransientModelError"
    assert "Cannot reach the model server" in error["message"]
    assert "call or text 988" in crisis["response"]


def test_studio_sees_a_chat_graph(server: SyncLangGraphClient) -> None:
    """Studio's chat view and agent-chat-ui need `messages` in the input and the output."""
    [assistant] = server.assistants.search(graph_id="emostage")
    schemas: Any = server.assistants.get_schemas(assistant["assistant_id"])
    for kind in ("input_schema", "output_schema"):
        messages = schemas[kind]["properties"]["messages"]
        assert messages["type"] == "array" and messages["description"], kind


def test_a_chat_thread_runs_by_messages_and_streams_only_the_reply(
    server: SyncLangGraphClient,
) -> None:
    """What a chat front end does: send the new user message, stream `messages-tuple`.

    The reply arrives sentence by sentence as it is written, under the id of the message
    the thread stores, and adds up to it.
    """
    thread = server.threads.create()["thread_id"]
    context = {"backend": "scripted"}
    for text in ("Work is crushing me.", "I cry on the way home."):
        payload: Any = {"messages": [{"role": "user", "content": text}]}
        parts = list(
            server.runs.stream(
                thread, "emostage", input=payload, context=context, stream_mode="messages-tuple"
            )
        )
        streamed = [p.data[0] for p in parts if p.event == "messages"]
        assert {m["type"] for m in streamed} == {"AIMessageChunk"} and len(streamed) > 1
        stored = server.threads.get_state(thread)["values"]["messages"][-1]  # type: ignore[call-overload]
        assert {m["id"] for m in streamed} == {stored["id"]}
        assert "".join(m["content"] for m in streamed) == stored["content"]
        assert stored["content"].startswith("(scripted test reply)")
    values: Any = server.threads.get_state(thread)["values"]
    assert [m["type"] for m in values["messages"]] == ["human", "ai", "human", "ai"]
    assert values["messages"][-1]["content"] == values["response"]
    assert values["messages"][-1]["response_metadata"]["emostage"]["phase"] == values["phase"]


def test_a_review_pause_is_langchains_hitl_request_and_takes_its_decisions(
    review_server: SyncLangGraphClient,
) -> None:
    """What agent-chat-ui does: draw the HITL request, resume with `{"decisions": [...]}`."""
    thread = review_server.threads.create()["thread_id"]
    payload: Any = {"messages": [{"role": "user", "content": "I want to kill myself tonight."}]}
    context = {"backend": "scripted", "locale": "en-US"}
    review_server.runs.wait(thread, "emostage", input=payload, context=context)
    state: Any = review_server.threads.get_state(thread)
    (interrupt,) = state["interrupts"]
    value = TypeAdapter(HITLRequest).validate_python(interrupt["value"])
    args = value["action_requests"][0]["args"]
    assert "call or text 988" in args["resources"]
    edited = {"name": "send_reply", "args": {**args, "message": "I'm here with you."}}
    command: Any = {"resume": {"decisions": [{"type": "edit", "edited_action": edited}]}}
    review_server.runs.wait(thread, "emostage", command=command, context=context)
    values: Any = review_server.threads.get_state(thread)["values"]
    assert values["response"] == f"I'm here with you.\n\n{args['resources']}"
    assert values["messages"][-1]["content"] == values["response"]
    assert values["review"]["action"] == "edit"


def test_a_failed_turn_shows_in_the_thread_and_the_stream_ends_with_the_notice(
    server: SyncLangGraphClient,
) -> None:
    """What agent-chat-ui streams (values) and keeps after a failed turn."""
    thread = server.threads.create()["thread_id"]
    payload: Any = {"messages": [{"role": "user", "content": "仕事がつらいです。"}]}
    with FakeOllama(fault="refuse") as down:
        context: Any = {"ollama_host": down.url, "model_attempts": 1}
        parts = list(
            server.runs.stream(
                thread, "emostage", input=payload, context=context, stream_mode="values"
            )
        )
    [error] = [p.data for p in parts if p.event == "error"]
    assert error["error"] == "TransientModelError" and "\n" not in error["message"]
    last = [p.data for p in parts if p.event == "values"][-1]
    notice = last["messages"][-1]
    assert notice["type"] == "ai" and notice["content"].startswith("申し訳ありません")
    values: Any = server.threads.get_state(thread)["values"]
    assert values["messages"][-1]["content"] == notice["content"]
    assert values["failure"]["error"] == "TransientModelError"


def test_regenerate_from_a_chat_client_drafts_anew(server: SyncLangGraphClient) -> None:
    """agent-chat-ui's regenerate: rerun from the parent of the state the reply first shows in."""
    thread = server.threads.create()["thread_id"]
    payload: Any = {"messages": [{"role": "user", "content": "Work is crushing me."}]}
    drafts = ScriptedChatModel(replies=["That sounds exhausting.", "You sound worn out."])
    with FakeOllama(drafts) as model:
        context: Any = {"ollama_host": model.url}
        server.runs.wait(thread, "emostage", input=payload, context=context)
        first: Any = server.threads.get_state(thread)["values"]
        reply_id = first["messages"][-1]["id"]
        history: Any = server.threads.get_history(thread, limit=50)  # newest first
        seen = [s for s in history if any(m["id"] == reply_id for m in s["values"]["messages"])]
        parent = seen[-1]["parent_checkpoint"]
        server.runs.wait(thread, "emostage", input=None, context=context, checkpoint=parent)
    again: Any = server.threads.get_state(thread)["values"]
    assert first["response"] == "That sounds exhausting."
    assert again["response"] == "You sound worn out." == again["messages"][-1]["content"]
    assert [m["type"] for m in again["messages"]] == ["human", "ai"]


@pytest.mark.real_model
def test_the_embedded_model_answers_under_the_server(server: SyncLangGraphClient) -> None:
    """Its first use assembles and loads the GGUF: never on the server's event loop, which
    refuses blocking calls (every turn failed there before)."""
    thread = server.threads.create()["thread_id"]
    payload: Any = {"messages": [{"role": "user", "content": "Work is crushing me."}]}
    context: Any = {"backend": "llamacpp", "max_tokens": 48, "locale": "en-US"}
    parts = list(server.runs.stream(thread, "emostage", input=payload, context=context))
    assert [part.data for part in parts if part.event == "error"] == []
    values: Any = server.threads.get_state(thread)["values"]
    assert values["response"] and values["messages"][-1]["content"] == values["response"]


def test_a_counselor_draft_is_rewritten_under_the_server(server: SyncLangGraphClient) -> None:
    thread = server.threads.create()["thread_id"]
    payload: Any = {
        "messages": [{"role": "user", "content": "Work is crushing me."}],
        "counselor_draft": "You should talk to your boss.",
    }
    server.runs.wait(thread, "emostage", input=payload, context={"backend": "scripted"})
    values: Any = server.threads.get_state(thread)["values"]
    assert values["response"] == SCRIPTED_REWRITE["reply"] == values["messages"][-1]["content"]
    assert values["changes"] == SCRIPTED_REWRITE["changes"]


def test_a_reviewer_picks_a_candidate_under_the_server(review_server: SyncLangGraphClient) -> None:
    thread = review_server.threads.create()["thread_id"]
    payload: Any = {"messages": [{"role": "user", "content": "I want to kill myself tonight."}]}
    context: Any = {"backend": "scripted", "locale": "en-US", "candidates": 2}
    review_server.runs.wait(thread, "emostage", input=payload, context=context)
    state: Any = review_server.threads.get_state(thread)
    (interrupt,) = state["interrupts"]
    drafted = interrupt["value"]["emostage"]["candidates"]
    args = interrupt["value"]["action_requests"][0]["args"]
    assert len(drafted) == 2 and args["candidate"] == 1
    edited = {"name": "send_reply", "args": {**args, "candidate": 2}}
    command: Any = {"resume": {"decisions": [{"type": "edit", "edited_action": edited}]}}
    review_server.runs.wait(thread, "emostage", command=command, context=context)
    values: Any = review_server.threads.get_state(thread)["values"]
    assert values["response"] == f"{drafted[1]}\n\n{args['resources']}"
    assert values["review"]["action"] == "pick"
