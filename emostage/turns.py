"""Running a turn and reading its result: the graph's output, and the `Reply` made of it.

`invoke_with_progress` is `invoke` that tells, as it goes, which nodes run and each chunk
of the reply as it is delivered (`EmoStage.respond(..., on_stage=..., on_text=...)`); its
output is the same, so the `Reply` is too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from emostage.nodes.deliver_reply import reply_chunk
from emostage.review import ReviewRequest
from emostage.safety import RiskAssessment
from emostage.state import Diagnostics, NodeReport, Reply

INTERRUPT = "__interrupt__"  # where LangGraph's output holds a paused run's interrupts
OnStage = Callable[[frozenset[str]], None]
OnText = Callable[[str], None]


def invoke_with_progress(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    payload: Any,
    config: Any,
    options: dict[str, Any],
    *,
    on_stage: OnStage | None = None,
    on_text: OnText | None = None,
) -> dict[str, Any]:
    """`graph.invoke(payload, config, **options)`, telling as it goes.

    Args:
        graph: The compiled EmoStage graph.
        payload: The run's input (or a `Command`, or None to continue a cut-off turn).
        config: The run's config (its thread).
        options: `context` and `durability`, as `invoke` takes them.
        on_stage: Called with the names of the nodes running now, whenever that changes
            (the analysis nodes run side by side).
        on_text: Called with each chunk of the final reply, once it is stored.

    Returns:
        What `invoke` returns.
    """
    if on_stage is None and on_text is None:
        return dict(graph.invoke(payload, config, **options))
    output: dict[str, Any] = {}
    paused: list[Any] = []
    running: set[str] = set()
    reply: list[str] = []
    modes: Any = ["values", "updates", "tasks", "custom"]
    parts: Any = graph.stream(payload, config, stream_mode=modes, **options)
    for mode, chunk in parts:
        if mode == "values":
            output = chunk
        elif mode == "updates" and INTERRUPT in chunk:
            paused.extend(chunk[INTERRUPT])
        elif mode == "tasks":
            # A task's first event carries its input, its last its result.
            (running.add if "input" in chunk else running.discard)(chunk["name"])
            if on_stage and running:
                on_stage(frozenset(running))
        elif mode == "custom" and (text := reply_chunk(chunk)):
            reply.append(text)
    # Told once the run has ended, so after the reply is stored: a reply that could not be
    # stored is never shown (as in `EmoStage.stream`).
    if on_text is not None:
        for text in reply:
            on_text(text)
    return {**output, INTERRUPT: paused} if paused else output


def reply_of(output: Mapping[str, Any], mode: str, thread_id: str, model: str) -> Reply:
    """The `Reply` of a turn's output (`invoke`'s, or `invoke_with_progress`'s)."""
    reports: list[NodeReport] = list(output.get("reports", {}).values())
    paused = [i.value for i in output.get(INTERRUPT, ())]
    return Reply(
        # While a reviewer decides, nothing is delivered: never the thread's last reply.
        response="" if paused else output["response"],
        status="awaiting_review" if paused else "delivered",
        thread_id=thread_id,
        pending_review=ReviewRequest.model_validate(paused[0]) if paused else None,
        review=None if paused else output.get("review"),
        phase=output.get("phase"),
        phase_rationale=output.get("phase_rationale", ""),
        perspective=output.get("perspective"),
        language=output.get("language", ""),
        mode=mode,
        risk=output.get("risk") or RiskAssessment(),
        diagnostics=Diagnostics(
            model=model,
            nodes=reports,
            fallbacks=[f"{r.node}: {r.fallback}" for r in reports if r.fallback],
        ),
    )
