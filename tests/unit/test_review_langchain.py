"""Review pauses speak LangChain's human-in-the-loop format, as agent-chat-ui draws it."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents.middleware.human_in_the_loop import HITLRequest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import TypeAdapter

from emostage import EmoStage, InputError
from emostage.graph import build_graph
from emostage.review import SEND_REPLY, paused_request
from emostage.testing import ScriptedChatModel

DRAFT = "Thank you for telling me. Are you safe right now?"
CRISIS = [{"role": "client", "content": "I want to kill myself tonight."}]


def paused_stage(thread: str) -> tuple[EmoStage, dict[str, Any]]:
    stage = EmoStage(ScriptedChatModel(defaults={"text": DRAFT}), review="crisis")
    stage.respond(CRISIS, thread_id=thread)
    (interrupt,) = stage.graph.get_state({"configurable": {"thread_id": thread}}).interrupts
    return stage, interrupt.value


def test_the_pause_is_langchains_hitl_request_with_the_message_and_resources() -> None:
    _, value = paused_stage("shape")
    TypeAdapter(HITLRequest).validate_python(value)  # langchain's own type
    # What agent-chat-ui checks before it draws its review controls.
    (action,) = value["action_requests"]
    (config,) = value["review_configs"]
    assert action["name"] == config["action_name"] == SEND_REPLY
    assert isinstance(action["args"], dict) and isinstance(config["allowed_decisions"], list)
    assert {"approve", "edit", "reject"} <= set(config["allowed_decisions"])
    request = paused_request(value)
    assert action["args"]["message"] == DRAFT == request.message
    assert "988" in action["args"]["resources"]
    assert request.draft == f"{DRAFT}\n\n{action['args']['resources']}"
    assert "crisis" in action["description"]


def resumed(decision: Any, thread: str) -> str:
    stage, _ = paused_stage(thread)
    reply = stage.resume(thread, {"decisions": [decision]})
    assert reply.status == "delivered" and reply.review is not None
    return reply.response


def test_each_langchain_decision_delivers_what_it_says() -> None:
    _, value = paused_stage("ref")
    resources = value["action_requests"][0]["args"]["resources"]
    assert resumed({"type": "approve"}, "a") == f"{DRAFT}\n\n{resources}"
    edit = {"type": "edit", "edited_action": {"name": SEND_REPLY, "args": {"message": "Hi."}}}
    assert resumed(edit, "e") == f"Hi.\n\n{resources}"  # the resources stay
    kept = {"message": "Hi.", "resources": resources}
    same = {"type": "edit", "edited_action": {"name": SEND_REPLY, "args": kept}}
    assert resumed(same, "e2") == f"Hi.\n\n{resources}"
    mine = {"message": "Call me.", "resources": "Call 988 now."}
    rewritten = {"type": "edit", "edited_action": {"name": SEND_REPLY, "args": mine}}
    assert resumed(rewritten, "r") == "Call me.\n\nCall 988 now."  # the whole reply, as written
    for kind in ("respond", "reject"):
        own = resumed({"type": kind, "message": "I'm here with you."}, kind)
        assert own == f"I'm here with you.\n\n{resources}"


@pytest.mark.parametrize(
    "decision",
    [
        {"decisions": [{"type": "reject"}]},  # no message: the client would get no reply
        {"decisions": [{"type": "maybe"}]},
        {"decisions": []},
        {"decisions": [{"type": "approve"}, {"type": "approve"}]},
        {"decisions": [{"type": "edit", "edited_action": {"name": SEND_REPLY}}]},
    ],
)
def test_a_bad_langchain_decision_is_one_clear_error_and_the_turn_stays_paused(
    decision: Any,
) -> None:
    stage, _ = paused_stage("bad")
    with pytest.raises(InputError, match="review") as caught:
        stage.resume("bad", decision)
    assert "\n" not in str(caught.value)
    assert stage.pending_review("bad") is not None


def test_the_raw_graph_takes_langchains_decisions_as_resume_values() -> None:
    graph = build_graph(
        ScriptedChatModel(defaults={"text": DRAFT}), checkpointer=InMemorySaver(), review="crisis"
    )
    config: Any = {"configurable": {"thread_id": "g"}}
    said: Any = {"messages": [{"role": "user", "content": CRISIS[0]["content"]}]}
    graph.invoke(said, config)
    (interrupt,) = graph.get_state(config).interrupts
    TypeAdapter(HITLRequest).validate_python(interrupt.value)
    answer = {"decisions": [{"type": "respond", "message": "I'm here."}]}
    out = graph.invoke(Command(resume=answer), config)
    resources = interrupt.value["action_requests"][0]["args"]["resources"]
    assert out["response"] == f"I'm here.\n\n{resources}" == out["messages"][-1].content
    assert out["review"].action == "own"


@pytest.mark.parametrize(
    ("decision", "says"),
    [
        ({"type": "reject"}, "needs your own reply"),
        ({"type": "reject", "message": "  "}, "needs your own reply"),
        ({"type": "edit", "edited_action": {"name": "other", "args": {}}}, "send_reply"),
    ],
)
def test_each_refusal_names_what_to_do(decision: Any, says: str) -> None:
    stage, _ = paused_stage("why")
    with pytest.raises(InputError, match=says):
        stage.resume("why", {"decisions": [decision]})


@pytest.mark.parametrize("candidate", [True, "2", 2.5, 0])
def test_a_pick_takes_a_whole_number_from_one(candidate: Any) -> None:
    stage, _ = paused_stage("pick")
    with pytest.raises(InputError, match="pick"):
        stage.resume("pick", {"action": "pick", "candidate": candidate})
