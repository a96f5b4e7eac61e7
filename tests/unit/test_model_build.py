"""On the event loop, a model is built on a worker thread, never on the loop's own.

Building one may read files (the embedded GGUF is assembled and loaded on first use), and
LangGraph Server refuses blocking calls on its loop: every turn failed there before.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel

from emostage.graph import build_graph
from emostage.models import source
from emostage.testing import ScriptedChatModel


def test_async_turns_build_their_models_off_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    built_on: list[threading.Thread] = []
    real_build = source.build_chat_model

    def build(context: Any) -> BaseChatModel:
        built_on.append(threading.current_thread())
        return real_build(context)

    monkeypatch.setattr(source, "build_chat_model", build)
    graph = build_graph()  # no model given: one is built from the turn's settings
    turn: Any = {"dialogue": [{"role": "client", "content": "I can't sleep."}]}
    context: Any = {"backend": "scripted", "analysis_model": "small"}

    async def run() -> tuple[Any, threading.Thread]:
        output = await graph.ainvoke(turn, context=context)
        return output, threading.current_thread()

    output, loop_thread = asyncio.run(run())
    assert output["response"]
    assert len(built_on) == 2  # the drafting model and the analysis model, once each
    assert loop_thread not in built_on
    again, _ = asyncio.run(run())  # built models are reused: no thread hop, no rebuild
    assert again["response"] and len(built_on) == 2


def test_a_fixed_model_needs_no_build(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_build(context: Any) -> BaseChatModel:
        raise AssertionError("a graph given its model builds none")

    monkeypatch.setattr(source, "build_chat_model", no_build)
    graph = build_graph(ScriptedChatModel())
    turn: Any = {"dialogue": [{"role": "client", "content": "I can't sleep."}]}
    assert asyncio.run(graph.ainvoke(turn))["response"]
