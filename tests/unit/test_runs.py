"""Every run guarded, through LangGraph's public API only; one runner for every entry point."""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph

import emostage
from emostage import (
    Context,
    EmoStage,
    EmoStageError,
    InputError,
    ReplyDelta,
    build_graph,
    shown_text,
)
from emostage.errors import OutputCapError
from emostage.guarded import EmoStageGraph
from emostage.testing import ScriptedChatModel

PACKAGE = Path(emostage.__file__).parent
MACHINERY = {"_abc_impl"}  # what Python's ABCMeta adds to every subclass
THREAD: RunnableConfig = {"configurable": {"thread_id": "t"}}
LONG = [{"role": "client", "content": "I can't sleep. " * 20}]


def _emostage_modules() -> list[Any]:
    """Every module of the package that imports without an optional extra."""
    modules = []
    for info in pkgutil.walk_packages([str(PACKAGE)], "emostage."):
        if info.name.startswith("emostage.testing") or info.name.endswith("__main__"):
            continue
        try:
            modules.append(importlib.import_module(info.name))
        except ImportError:  # an extra that is not installed (eval, postgres, local)
            continue
    return modules


def test_build_graph_is_langgraphs_compiled_graph_with_only_public_overrides() -> None:
    graph = build_graph(ScriptedChatModel())
    assert isinstance(graph, CompiledStateGraph)
    own = {name for name in vars(EmoStageGraph) if not name.startswith("__")} - MACHINERY
    # Public Runnable methods, and whom the graph talks to: nothing private.
    assert own == {"stream", "astream", "astream_events", "audience"}


def test_no_class_overrides_a_private_langgraph_member() -> None:
    modules = _emostage_modules()
    assert len(modules) > 40
    for module in modules:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            theirs = [b for b in cls.__mro__[1:] if b.__module__.startswith("langgraph")]
            for name in set(vars(cls)) - MACHINERY:
                private = name.startswith("_") and not name.startswith("__")
                overrides = [b for b in theirs if name in vars(b)]
                assert not (private and overrides), f"{cls.__qualname__}.{name} overrides LangGraph"


def test_no_module_swaps_an_objects_class() -> None:
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    swapped = isinstance(target, ast.Attribute) and target.attr == "__class__"
                    assert not swapped, f"{path}:{node.lineno} assigns __class__"


def test_every_error_raised_on_purpose_is_an_emostage_error() -> None:
    assert issubclass(OutputCapError, EmoStageError) and issubclass(OutputCapError, ValueError)
    for module in _emostage_modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            ours = cls.__module__ == module.__name__
            if ours and issubclass(cls, Exception) and not issubclass(cls, Warning):
                assert issubclass(cls, EmoStageError), cls


@pytest.mark.parametrize("shape", ["dialogue", "messages"])
def test_a_raw_graph_refuses_over_long_input_before_storing_it(shape: str) -> None:
    saver = InMemorySaver()
    model = ScriptedChatModel()
    graph = build_graph(model, checkpointer=saver)
    small = Context(max_input_chars=100)
    turn: Any = {shape: LONG}
    as_mapping: Any = {"max_input_chars": 100}  # as Studio sends it
    with pytest.raises(InputError, match="too long"):
        graph.invoke(turn, THREAD, context=small)
    with pytest.raises(InputError, match="too long"):
        list(graph.stream(turn, THREAD, context=as_mapping))
    with pytest.raises(InputError, match="too long"):
        asyncio.run(graph.ainvoke(turn, THREAD, context=small))
    assert saver.get_tuple(THREAD) is None and model.calls == []
    # Under the limit, the same input is answered.
    assert graph.invoke(turn, THREAD, context=Context())["response"]


def test_the_api_refuses_over_long_input_on_every_entry_point() -> None:
    stage = EmoStage(ScriptedChatModel(), max_input_chars=100)
    with pytest.raises(InputError, match="too long"):
        stage.respond(LONG)
    with pytest.raises(InputError, match="too long"):
        asyncio.run(stage.arespond(LONG))
    with pytest.raises(InputError, match="too long"):
        list(stage.stream(LONG))


def test_the_async_entry_points_tell_stages_and_text_like_the_sync_ones() -> None:
    dialogue = [{"role": "client", "content": "I haven't slept since my job changed."}]

    def told(run: Any) -> tuple[Any, list[frozenset[str]], list[ReplyDelta]]:
        stages: list[frozenset[str]] = []
        text: list[ReplyDelta] = []
        reply = run(dialogue, on_stage=stages.append, on_text=text.append)
        return reply, stages, text

    stage = EmoStage(ScriptedChatModel())
    sync_reply, sync_stages, sync_text = told(stage.respond)
    async_reply, async_stages, async_text = told(
        lambda d, **kw: asyncio.run(stage.arespond(d, **kw))
    )
    for reply, stages, text in (
        (sync_reply, sync_stages, sync_text),
        (async_reply, async_stages, async_text),
    ):
        assert shown_text(text) == reply.response != ""
        assert stages[0] == frozenset({"read_messages"})
        assert frozenset({"screen_risk", "recognize_phase", "take_perspective"}) in stages
        assert stages[-1] == frozenset({"deliver_reply"})
    assert async_reply.response == sync_reply.response
