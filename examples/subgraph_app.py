"""A host app that uses EmoStage as one node of its own LangGraph graph.

The host keeps its own state (`messages` plus its own `handovers` count) and its own
checkpointer. EmoStage reads the host's `messages` and appends the counselor's reply to
them; its analysis rides in the reply's `response_metadata["emostage"]`. A person checks
every crisis reply before it is sent: EmoStage is built with `review="crisis"`, so the
host's run pauses with the draft, and resumes with the reviewer's decision.

Run it: `python examples/subgraph_app.py` (uses the scripted test model, no server).
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from emostage import build_graph


class HostState(MessagesState):
    """The host's own state: the chat, and how often it handed over to a person."""

    handovers: Annotated[int, operator.add]


def flag_for_staff(state: HostState) -> dict[str, Any]:
    """The host's own node: count the turns that EmoStage marked as a crisis."""
    reply = state["messages"][-1]
    risk = reply.response_metadata.get("emostage", {}).get("risk") or {}
    return {"handovers": 1 if risk.get("level") == "crisis" else 0}


def build_host_app(model: BaseChatModel) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The host graph: EmoStage answers, then the host's own node looks at the reply."""
    builder = StateGraph(HostState)
    builder.add_node("counselor", build_graph(model, review="crisis"))
    builder.add_node("flag_for_staff", flag_for_staff)
    builder.add_edge(START, "counselor")
    builder.add_edge("counselor", "flag_for_staff")
    return builder.compile(checkpointer=InMemorySaver())


def main() -> None:
    """Two turns: a routine one, then a crisis one that a reviewer approves."""
    from emostage.testing import ScriptedChatModel

    app = build_host_app(ScriptedChatModel())
    config: Any = {"configurable": {"thread_id": "client-42"}}
    app.invoke({"messages": [("user", "Work has been crushing me lately.")]}, config)
    paused = app.invoke({"messages": [("user", "I want to end my life tonight.")]}, config)
    # LangChain's human-in-the-loop request: one `send_reply` action, its message and resources.
    (action,) = paused["__interrupt__"][0].value["action_requests"]
    print(
        f"A reviewer sees the draft:\n{action['args']['message']}\n{action['args']['resources']}\n"
    )
    final = app.invoke(Command(resume="approve"), config)
    print(f"Sent: {final['messages'][-1].content}\nHandovers: {final['handovers']}")


if __name__ == "__main__":
    main()
