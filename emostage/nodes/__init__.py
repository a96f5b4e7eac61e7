"""Graph nodes, one per file, and what they share: their names and their skeleton.

Every node that asks the model opens the same way (the turn's settings, its view of the
dialogue, a report) and closes the same way (the report, with timing and any fallback,
joins the state). `node` writes that once; a node's own file holds only what it decides.

Its body is a generator of `(state, step)` that yields model calls
(`answer = yield from step.text(...)`, or `step.structured(...)` for the analysis). `node`
makes of it a runnable with both a sync and an async entry: `invoke`/`stream` carry the
calls out blocking, `ainvoke`/`astream` await them on the event loop, with no thread in
between. What a model answer may be, and what happens to a bad one, is
`emostage.models.ask`'s; how a call is carried out, `emostage.models.invoke`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Sequence
from typing import Any, Literal

from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.runtime import get_runtime

from emostage.context import Context, resolve_context
from emostage.conversation import reply_message
from emostage.models.ask import NodeRun
from emostage.models.invoke import Asking, run_async, run_sync
from emostage.models.shown import show_more
from emostage.models.source import ModelSource
from emostage.nodes.step import Step
from emostage.prompts.messages import DialogueView
from emostage.prompts.phases import Taxonomy
from emostage.review import joined_reply
from emostage.safety import Resource
from emostage.state import State
from emostage.streaming import ReplyWriter, StreamCleaner

__all__ = [
    "BUILTIN_NODES",
    "CHECK_SAFETY_MODEL",
    "DELIVER_REPLY",
    "DRAFT_CRISIS",
    "DRAFT_GENERAL",
    "PLAN_REPLY",
    "READ_MESSAGES",
    "RECOGNIZE_PHASE",
    "RESPOND_BASELINE",
    "REWRITE_DRAFT",
    "SCREEN_RISK",
    "TAKE_PERSPECTIVE",
    "AnalysisNode",
    "Asking",
    "ModelNode",
    "ModelSource",
    "Node",
    "Step",
    "draft_node",
    "drafted",
    "node",
    "reserved_phase_ids",
]

# A node: a function of the State and the Runtime (LangGraph passes it by the parameter's
# name, `runtime`) returning a state update; or, for nodes that ask the model, a `ModelNode`.
Node = Callable[..., dict[str, Any]] | Runnable[State, dict[str, Any]]
# A node body: a generator that yields model calls, or (asking nothing) a plain function.
NodeBody = Callable[[State, "Step"], Asking[dict[str, Any]] | dict[str, Any]]

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
REWRITE_DRAFT = "rewrite_draft"
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
    REWRITE_DRAFT,
    DELIVER_REPLY,
)
# Routes `plan_reply` can take besides a phase's draft node, by the name a phase would have.
BUILTIN_ROUTES = ("general", "crisis", "baseline", "rewrite")


def draft_node(phase: str) -> str:
    """The name of the node that drafts with `phase`'s strategy."""
    return f"draft_{phase}"


class ModelNode(Runnable[State, dict[str, Any]]):
    """A node that asks the model, runnable blocking (`invoke`) or on the event loop.

    LangGraph calls `invoke` on the sync paths and `ainvoke` on the async ones; a plain
    function node would instead run in a thread on the async paths.
    """

    def __init__(
        self,
        name: str,
        body: NodeBody,
        models: ModelSource | None,
        *,
        taxonomy: Taxonomy | None = None,
        shows_reply: bool = False,
    ) -> None:
        """A node called `name` that runs `body`, asking `models` (None: it asks none).

        Its report joins the update.

        A node that asks with `DialogueView.ask` needs the `taxonomy`: every call's
        prompt starts with the same standing instructions, which list its phases. With
        `shows_reply`, the node's text answer is shown to the client as it is written (a
        draft that no reviewer has to see first).
        """
        self.name: str = name
        self.body = body
        self.models = models or ModelSource()
        self.asks = models is not None
        self.taxonomy = taxonomy
        self.shows_reply = shows_reply

    def invoke(
        self, input: State, config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Run the node, making its model calls one by one."""
        return run_sync(self._run(input))

    async def ainvoke(
        self, input: State, config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Run the node, awaiting its model calls on the event loop.

        A model not built yet is built on a worker thread first: loading one reads files
        (the embedded GGUF), which must not stall the loop (LangGraph Server refuses it).
        """
        context = resolve_context(get_runtime(Context).context)
        if self.asks and not self.models.built(context):
            await asyncio.to_thread(self.models.build, context)
        return await run_async(self._run(input))

    def _run(self, state: State) -> Asking[dict[str, Any]]:
        name = str(self.name)
        runtime = get_runtime(Context)
        context = resolve_context(runtime.context)
        view = DialogueView.of(state.dialogue, context, self.taxonomy)
        step = Step(context, view, NodeRun(name, view.number), runtime, self.models)
        if self.shows_reply:
            step.reply = StreamCleaner(view.labels, ReplyWriter(runtime.stream_writer))
        done = self.body(state, step)
        update = (yield from done) if isinstance(done, Generator) else done
        return {**update, "reports": step.run.report()}


def node(
    name: str,
    models: ModelSource | None = None,
    *,
    taxonomy: Taxonomy | None = None,
    shows_reply: bool = False,
) -> Callable[[NodeBody], ModelNode]:
    """Make a node of a body `(state, step)` that returns an update, yielding model calls.

    Args:
        name: The node's name.
        models: Where its model comes from; None for a node that asks no model.
        taxonomy: The phases its prompts list; needed to ask with `DialogueView.ask`.
        shows_reply: Show its text answer to the client as it is written.
    """

    def wrap(body: NodeBody) -> ModelNode:
        return ModelNode(name, body, models, taxonomy=taxonomy, shows_reply=shows_reply)

    return wrap


def drafted(
    step: Step,
    message: str,
    appendix: str = "",
    resources: Sequence[Resource] = (),
    changes: Sequence[str] = (),
    candidates: Sequence[str] = (),
    unreviewed: bool = False,
) -> dict[str, Any]:
    """The state update of a drafting node: the draft, for `deliver_reply` to deliver.

    When the draft was shown as it was written, the client is now shown exactly
    `message` (a fallback replaces what the model had written). A draft shown unchanged
    also joins the chat `messages` now, under the id it was streamed under
    (`deliver_reply` completes it): the reply message first appears with its draft, so a
    rerun from the checkpoint before it (a chat client's "regenerate") drafts anew. So
    does a draft no reviewer holds that was not streamed (`unreviewed`: a rewrite), whole.

    Args:
        step: The node's step.
        message: The drafted message.
        appendix: Text appended to it verbatim (crisis resources).
        resources: The resources in the appendix, as data (for a reviewer).
        changes: What a rewrite changed in the counselor's draft.
        candidates: Every draft of the turn, when it drafted more than one (`message` is
            the first).
        unreviewed: The reply is delivered as drafted, never held for a reviewer.
    """
    message_id = ""
    early = []
    if step.reply is not None:
        step.reply.settle(message)
        show_more(step.reply.take_fresh(), step.reply.message_id)
        # After a replacement, `messages` clients get the stored reply as a new message.
        message_id = "" if step.reply.replaced else step.reply.message_id
        early = [reply_message(message, {}, message_id)] if message_id else []
    elif unreviewed:
        early = [reply_message(joined_reply(message, appendix), {})]
        message_id = str(early[0].id)
    return {
        **({"messages": early} if early else {}),
        "draft": message,
        "draft_shown": step.reply is not None,
        "draft_id": message_id,
        "draft_appendix": appendix,
        "draft_resources": list(resources),
        "changes": list(changes),
        "candidates": list(candidates) if len(candidates) > 1 else [],
        "language": step.view.language,
    }


def reserved_phase_ids() -> frozenset[str]:
    """Phase ids a taxonomy may not use: they would collide with a built-in node or route."""
    prefix = draft_node("")
    drafts = {name.removeprefix(prefix) for name in BUILTIN_NODES if name.startswith(prefix)}
    return frozenset(drafts | set(BUILTIN_ROUTES) | set(BUILTIN_NODES))
