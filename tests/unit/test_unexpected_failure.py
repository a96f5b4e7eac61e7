"""A turn that fails on a bug, not an `EmoStageError`, still stays visible in its thread.

The thread records the error's type only (its message may quote anything, client text
included), the client is told in their language, and the error goes on to the caller.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from emostage.graph import build_graph
from emostage.nodes import deliver_reply
from emostage.prompts import load_prompts
from emostage.streaming import delta_of, shown_text
from emostage.testing import ScriptedChatModel

SECRET = "something the client said"


def broken(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(f"a bug that quotes {SECRET}")


@pytest.mark.parametrize("entry", ["stream", "astream"])
def test_a_bug_is_recorded_told_and_raised(monkeypatch: pytest.MonkeyPatch, entry: str) -> None:
    monkeypatch.setattr(deliver_reply, "reply_message", broken)
    graph = build_graph(ScriptedChatModel(), checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": entry}}
    turn = {"messages": [{"role": "user", "content": "I can't sleep."}]}
    chunks: list[Any] = []

    async def astream() -> None:
        async for chunk in graph.astream(turn, config, stream_mode="custom"):
            chunks.append(chunk)

    with pytest.raises(RuntimeError, match="a bug that quotes"):
        if entry == "stream":
            chunks.extend(graph.stream(turn, config, stream_mode="custom"))
        else:
            asyncio.run(astream())
    told = load_prompts("en").failure_reply
    assert shown_text([d for c in chunks if (d := delta_of(c)) is not None]) == told
    values = graph.get_state(config).values
    assert values["failure"].error == "RuntimeError" and SECRET not in values["failure"].message
    assert values["messages"][-1].content == told
