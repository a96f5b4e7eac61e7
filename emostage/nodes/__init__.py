"""Graph nodes, one per file, and what they share: their names and their skeleton.

Every node opens the same way (the turn's settings, its view of the dialogue, a report) and
closes the same way (the report, with timing and any fallback, joins the state). `node`
writes that once; a node's own file holds only what it decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from langgraph.runtime import Runtime

from emostage.calls import NodeRun
from emostage.context import Context, resolve_context
from emostage.messages import TurnView
from emostage.state import State

# A node takes the State and the Runtime (LangGraph passes it by the parameter's name,
# `runtime`) and returns a state update.
Node = Callable[..., dict[str, Any]]

# The names of the graph's nodes: the one place they are spelled.
AnalysisNode = Literal["screen_risk", "recognize_phase", "take_perspective", "check_safety_model"]
SCREEN_RISK: AnalysisNode = "screen_risk"
RECOGNIZE_PHASE: AnalysisNode = "recognize_phase"
TAKE_PERSPECTIVE: AnalysisNode = "take_perspective"
CHECK_SAFETY_MODEL: AnalysisNode = "check_safety_model"
READ_MESSAGES = "read_messages"
PLAN_REPLY = "plan_reply"
DRAFT_GENERAL = "draft_general"
DRAFT_CRISIS = "draft_crisis"
RESPOND_BASELINE = "respond_baseline"
DELIVER_REPLY = "deliver_reply"
BUILTIN_NODES = (
    READ_MESSAGES,
    SCREEN_RISK,
    CHECK_SAFETY_MODEL,
    RECOGNIZE_PHASE,
    TAKE_PERSPECTIVE,
    PLAN_REPLY,
    DRAFT_GENERAL,
    DRAFT_CRISIS,
    RESPOND_BASELINE,
    DELIVER_REPLY,
)
# Routes `plan_reply` can take besides a phase's draft node, by the name a phase would have.
BUILTIN_ROUTES = ("general", "crisis", "baseline")


def draft_node(phase: str) -> str:
    """The name of the node that drafts with `phase`'s strategy."""
    return f"draft_{phase}"


@dataclass
class Step:
    """What a node body works with: settings, the dialogue as this turn sees it, its report."""

    context: Context
    view: TurnView
    run: NodeRun
    runtime: Runtime[Context]


def node(name: str) -> Callable[[Callable[[State, Step], dict[str, Any]]], Node]:
    """Make a node of a body `(state, step) -> update`; the node's report joins the update."""

    def wrap(body: Callable[[State, Step], dict[str, Any]]) -> Node:
        def run_node(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
            context = resolve_context(runtime.context)
            view = TurnView.of(state.dialogue, context)
            step = Step(context, view, NodeRun(name, view.number), runtime)
            update = body(state, step)
            return {**update, "reports": step.run.report()}

        run_node.__name__ = run_node.__qualname__ = name
        return run_node

    return wrap


def drafted(step: Step, message: str, appendix: str = "") -> dict[str, Any]:
    """The state update of a drafting node: the draft, for `deliver_reply` to deliver."""
    return {"draft": message, "draft_appendix": appendix, "language": step.view.language}


def reserved_phase_ids() -> frozenset[str]:
    """Phase ids a taxonomy may not use: they would collide with a built-in node or route."""
    prefix = draft_node("")
    drafts = {name.removeprefix(prefix) for name in BUILTIN_NODES if name.startswith(prefix)}
    return frozenset(drafts | set(BUILTIN_ROUTES) | set(BUILTIN_NODES))
