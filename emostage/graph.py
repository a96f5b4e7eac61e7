"""The EmoStage graph: screen and analyse the client's turn in parallel, then draft.

START -> read_messages (the `messages` and `dialogue` views in step)
      -> screen_risk, recognize_phase, take_perspective      (one step, in parallel)
      -> plan_reply -> route_by_phase -> draft_crisis | draft_<phase> | draft_general
                                         | respond_baseline
      -> deliver_reply (pauses for a reviewer when `review` asks) -> END
The baseline (mode="baseline") runs the screen only, then one plain call.
For a client audience, the output is the reply only (`emostage.audience`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, get_args

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from emostage.audience import AUDIENCES, Audience
from emostage.context import Context, resolve_context
from emostage.errors import ConfigError, TaxonomyError
from emostage.guarded import EmoStageGraph, guard
from emostage.models.source import ModelSource
from emostage.nodes import (
    CHECK_SAFETY_MODEL,
    DELIVER_REPLY,
    DRAFT_CRISIS,
    DRAFT_GENERAL,
    PLAN_REPLY,
    READ_MESSAGES,
    RECOGNIZE_PHASE,
    RESPOND_BASELINE,
    REWRITE_DRAFT,
    SCREEN_RISK,
    TAKE_PERSPECTIVE,
    AnalysisNode,
    draft_node,
    reserved_phase_ids,
)
from emostage.nodes.check_safety_model import make_check_safety_model
from emostage.nodes.deliver_reply import make_deliver_reply
from emostage.nodes.draft_crisis import make_draft_crisis
from emostage.nodes.draft_reply import make_draft_reply
from emostage.nodes.plan_reply import make_plan_reply
from emostage.nodes.read_messages import read_messages
from emostage.nodes.recognize_phase import make_recognize_phase
from emostage.nodes.respond_baseline import make_respond_baseline
from emostage.nodes.rewrite_draft import make_rewrite_draft
from emostage.nodes.screen_risk import screen_risk
from emostage.nodes.take_perspective import make_take_perspective
from emostage.prompts.phases import Taxonomy, load_taxonomy
from emostage.review import REVIEW_POLICIES, ReviewPolicy, needs_review
from emostage.sessions.serializer import with_state_types
from emostage.state import ClientOutputState, InputState, OutputState, State

AnalysisLayout = Literal["parallel", "sequential"]

ANALYSIS_NODES: list[str] = list(get_args(AnalysisNode))


def route_by_mode(state: State, runtime: Runtime[Context]) -> list[AnalysisNode]:
    """Fan out to the risk screen and both analyses; the baseline gets the screen only.

    The guard model, when one is set, runs alongside in every mode.
    """
    context = resolve_context(runtime.context)
    guard: list[AnalysisNode] = [CHECK_SAFETY_MODEL] if context.safety_model else []
    if context.mode == "baseline":
        return [SCREEN_RISK, *guard]
    return [SCREEN_RISK, RECOGNIZE_PHASE, TAKE_PERSPECTIVE, *guard]


def route_by_phase(state: State) -> str:
    """Follow `plan_reply`'s choice: crisis, baseline, a phase's draft node, or the general one."""
    return state.strategy


def build_graph(
    model: BaseChatModel | None = None,
    *,
    taxonomy: Taxonomy | str | Path = "ivey",
    checkpointer: BaseCheckpointSaver[str] | None = None,
    analysis: AnalysisLayout = "parallel",
    review: ReviewPolicy = "off",
    audience: Audience = "counselor",
    interrupt_before: Sequence[str] = (),
    interrupt_after: Sequence[str] = (),
) -> EmoStageGraph:
    """Compile the EmoStage graph.

    Args:
        model: Any LangChain chat model. Default: one built per turn from the `Context`.
        taxonomy: A `Taxonomy`, a built-in name (`ivey`, `hill`) or a YAML/JSON path.
        checkpointer: Persist threads, e.g. `InMemorySaver()` or a SQLite saver.
        analysis: `parallel`, or `sequential` (the paper's layout, one analysis after the
            other; slower, kept to measure what running them side by side saves).
        review: `crisis` pauses before a crisis reply is delivered, `always` before every
            reply, for a person to approve, edit or replace it (see `emostage.review`).
            Needs a checkpointer (LangGraph Server and Studio bring their own).
        audience: Who talks to the graph: `counselor` (the output and streams carry the
            analysis; review pauses are interrupts) or `client` (they carry the reply only;
            a review holds the turn with a holding message; see `emostage.audience`).
        interrupt_before: Node names to pause before (LangGraph's breakpoints). Set them
            here, not on a parent graph: a parent's `interrupt_before` names only its own
            nodes, and LangGraph ignores names of a subgraph's. Resume with
            `invoke(None, config)` on the graph that was paused (the parent, if any).
        interrupt_after: Node names to pause after.

    Raises:
        TaxonomyError: a phase id collides with a built-in node or route.
        ConfigError: an unknown review policy, audience or node name, or an argument of the
            wrong kind.
    """
    if model is not None and not isinstance(model, BaseChatModel):
        raise ConfigError(
            f"The model must be a LangChain chat model, not {type(model).__name__}; "
            "for a model by name, set Context(model=...) or EmoStage(model=...)."
        )
    if checkpointer is not None and not isinstance(checkpointer, BaseCheckpointSaver):
        raise ConfigError(
            f"The checkpointer must be a LangGraph checkpointer (e.g. InMemorySaver()), "
            f"not {type(checkpointer).__name__}."
        )
    phases = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
    if clashes := sorted(reserved_phase_ids().intersection(phases.ids)):
        raise TaxonomyError(
            f"Taxonomy {phases.name!r} uses reserved phase id(s) {clashes}: they name built-in "
            "nodes or routes. Rename them."
        )
    if review not in REVIEW_POLICIES:
        raise ConfigError(f"Unknown review {review!r}; use one of: {', '.join(REVIEW_POLICIES)}.")
    if audience not in AUDIENCES:
        raise ConfigError(f"Unknown audience {audience!r}; use one of: {', '.join(AUDIENCES)}.")
    models = ModelSource(model)
    # A draft that no reviewer has to see first is shown as it is written.
    shown = not needs_review(review, crisis_turn=False)
    drafts = {draft_node(p): make_draft_reply(models, phases, p, shown) for p in phases.ids}
    drafts[DRAFT_GENERAL] = make_draft_reply(models, phases, None, shown)
    crisis_shown = not needs_review(review, crisis_turn=True)
    drafts[DRAFT_CRISIS] = make_draft_crisis(models, phases, crisis_shown)
    drafts[RESPOND_BASELINE] = make_respond_baseline(models, shown)
    drafts[REWRITE_DRAFT] = make_rewrite_draft(models, phases)

    output = ClientOutputState if audience == "client" else OutputState
    builder = StateGraph(
        State, context_schema=Context, input_schema=InputState, output_schema=output
    )
    builder.add_node(READ_MESSAGES, read_messages)
    builder.add_node(SCREEN_RISK, screen_risk)
    builder.add_node(CHECK_SAFETY_MODEL, make_check_safety_model(models))
    builder.add_node(RECOGNIZE_PHASE, make_recognize_phase(models, phases))
    builder.add_node(TAKE_PERSPECTIVE, make_take_perspective(models, phases))
    builder.add_node(PLAN_REPLY, make_plan_reply(phases))
    builder.add_node(DELIVER_REPLY, make_deliver_reply(review, audience))
    for name, node in drafts.items():
        builder.add_node(name, node)
        builder.add_edge(name, DELIVER_REPLY)
    builder.add_edge(DELIVER_REPLY, END)

    builder.add_edge(START, READ_MESSAGES)
    if analysis == "sequential":
        for first, then in itertools.pairwise([READ_MESSAGES, *ANALYSIS_NODES, PLAN_REPLY]):
            builder.add_edge(first, then)
    else:
        builder.add_conditional_edges(READ_MESSAGES, route_by_mode, ANALYSIS_NODES)
        for analysis_node in ANALYSIS_NODES:  # one step together: plan_reply runs once after
            builder.add_edge(analysis_node, PLAN_REPLY)
    builder.add_conditional_edges(PLAN_REPLY, route_by_phase, list(drafts))
    breakpoints = [*interrupt_before, *interrupt_after]
    if unknown := sorted(set(breakpoints) - set(builder.nodes)):
        raise ConfigError(
            f"No node named {', '.join(map(repr, unknown))}; the nodes are: "
            f"{', '.join(builder.nodes)}."
        )
    # Every run of it is guarded (bounded by the turn's deadline, untraced, locked on a
    # session store: emostage.guarded), and its checkpointer loads EmoStage's state classes.
    return guard(
        builder.compile(
            checkpointer=with_state_types(checkpointer) if checkpointer else None,
            interrupt_before=list(interrupt_before),
            interrupt_after=list(interrupt_after),
            name="EmoStage",
        )
    )
