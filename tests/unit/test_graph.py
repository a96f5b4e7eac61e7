from __future__ import annotations

import threading
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver

from emostage import EmoStage, build_graph, load_taxonomy
from emostage.context import Context
from emostage.conversation import Turn
from emostage.state import InputState
from emostage.streaming import sentence_chunks, shown_text
from emostage.testing import SCRIPTED_REPLY, ScriptedChatModel

IVEY = load_taxonomy("ivey").ids
ANALYSES = ("screen_risk", "recognize_phase", "take_perspective")
HILL = load_taxonomy("hill").ids


def run(
    model: ScriptedChatModel, dialogue: list[Turn], taxonomy: str = "ivey", **settings: Any
) -> dict[str, Any]:
    graph = build_graph(model, taxonomy=taxonomy, checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    output = graph.invoke(InputState(dialogue=dialogue), config, context=Context(**settings))
    return dict(output)


@pytest.mark.parametrize(
    ("taxonomy", "phase"), [*(("ivey", p) for p in IVEY), *(("hill", p) for p in HILL)]
)
def test_routes_each_phase_to_its_draft_node(
    taxonomy: str, phase: str, english_dialogue: list[Turn]
) -> None:
    model = ScriptedChatModel(phase=phase)
    out = run(model, english_dialogue, taxonomy)
    assert out["phase"] == phase
    assert set(out["reports"]) == {*ANALYSES, f"draft_{phase}"}
    # The draft call carries that phase's own strategy text.
    strategy = load_taxonomy(taxonomy).phase(phase).text("en").definition
    draft_messages = model.calls[-1][1]
    assert strategy in draft_messages[-1].content


def test_analysis_nodes_run_in_parallel(english_dialogue: list[Turn]) -> None:
    # Each analysis call waits for the other: a sequential graph would break the barrier.
    barrier = threading.Barrier(2, timeout=10)

    def meet(answer: dict[str, Any]) -> Any:
        def wait(_: Any) -> dict[str, Any]:
            barrier.wait()
            return answer

        return wait

    model = ScriptedChatModel(
        structured={
            "PhaseAssessment": [meet({"rationale": "r", "phase": "rapport"})],
            "Perspective": [meet({"situation": "s"})],
        }
    )
    out = run(model, english_dialogue)
    assert out["phase"] == "rapport"
    assert out["perspective"].situation == "s"
    assert len(model.calls) == 3  # two analyses, one draft: the critical path is two calls


def test_graph_is_a_fan_out_then_router() -> None:
    graph = build_graph(ScriptedChatModel()).get_graph()
    edges = {(e.source, e.target, e.conditional) for e in graph.edges}
    assert ("__start__", "read_messages", False) in edges
    for analysis in ANALYSES:
        assert ("read_messages", analysis, True) in edges
        assert (analysis, "plan_reply", False) in edges
    targets = {t for s, t, c in edges if s == "plan_reply" and c}
    others = {"draft_general", "draft_crisis", "respond_baseline", "rewrite_draft"}
    assert targets == {f"draft_{p}" for p in IVEY} | others


def test_mermaid_snapshot(snapshot: Any) -> None:
    assert build_graph(ScriptedChatModel()).get_graph().draw_mermaid() == snapshot


def test_without_perspective(english_dialogue: list[Turn]) -> None:
    model = ScriptedChatModel()
    out = run(model, english_dialogue, use_perspective=False)
    assert out["perspective"] is None
    assert out["reports"]["take_perspective"].skipped
    assert [schema for schema, _ in model.calls] == ["PhaseAssessment", None]


def test_without_phase_drafts_phase_neutral(english_dialogue: list[Turn]) -> None:
    model = ScriptedChatModel()
    out = run(model, english_dialogue, use_phase=False)
    assert out["phase"] is None
    assert "draft_general" in out["reports"]
    assert [schema for schema, _ in model.calls] == ["Perspective", None]


def test_baseline_is_one_plain_call(english_dialogue: list[Turn]) -> None:
    model = ScriptedChatModel()
    out = run(model, english_dialogue, mode="baseline")
    assert out["response"] == SCRIPTED_REPLY
    assert set(out["reports"]) == {"screen_risk", "respond_baseline"}
    assert len(model.calls) == 1
    system = model.calls[0][1][0].content
    assert "counselor" in system and "support" not in system  # the plain persona


def test_unparseable_analysis_retries_once_then_falls_back(english_dialogue: list[Turn]) -> None:
    model = ScriptedChatModel(
        structured={
            "PhaseAssessment": ["not json", '{"phase": "nonsense"}'],
            "Perspective": ["{", "{"],
        }
    )
    out = run(model, english_dialogue)
    assert out["phase"] == "exploration"  # the taxonomy's fallback phase
    assert out["perspective"].is_empty()
    assert out["reports"]["recognize_phase"].model_calls == 2
    assert "unparseable" in (out["reports"]["take_perspective"].fallback or "")
    assert out["response"] == SCRIPTED_REPLY


def test_fallback_phase_is_the_threads_previous_phase(english_dialogue: list[Turn]) -> None:
    model = ScriptedChatModel(
        structured={"PhaseAssessment": [{"rationale": "", "phase": "intervention"}, "x", "x"]}
    )
    stage = EmoStage(model, checkpointer=InMemorySaver())
    assert stage.respond(english_dialogue, thread_id="s").phase == "intervention"
    second = stage.respond([{"role": "client", "content": "And then?"}], thread_id="s")
    assert second.phase == "intervention"
    assert second.diagnostics.fallbacks == [
        "recognize_phase: unparseable PhaseAssessment after 2 call(s): JSONDecodeError"
    ]


def test_empty_draft_retries_then_uses_the_fallback_reply(english_dialogue: list[Turn]) -> None:
    model = ScriptedChatModel(replies=["  ", "Counselor: "])
    reply = EmoStage(model).respond(english_dialogue)
    assert reply.response.startswith("I'm here and listening")
    assert reply.diagnostics.fallbacks == ["draft_exploration: empty reply after 2 call(s)"]


def test_reply_is_cleaned_of_labels_and_quotes(english_dialogue: list[Turn]) -> None:
    model = ScriptedChatModel(replies=['Counselor: "That sounds exhausting."'])
    assert EmoStage(model).respond(english_dialogue).response == "That sounds exhausting."


def test_thread_state_history_and_time_travel(english_dialogue: list[Turn]) -> None:
    model = ScriptedChatModel(phase="exploration")
    graph = build_graph(model, checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    graph.invoke(InputState(dialogue=english_dialogue), config)
    state = graph.get_state(config)
    assert state.values["dialogue"][-1] == Turn(role="counselor", content=SCRIPTED_REPLY)
    # Go back to just before drafting, force another phase, and draft again.
    before_draft = next(s for s in graph.get_state_history(config) if s.next == ("plan_reply",))
    forked = graph.update_state(
        before_draft.config, {"phase": "closing"}, as_node="recognize_phase"
    )
    graph.invoke(None, forked)
    assert graph.get_state(config).values["reports"].keys() >= {"draft_closing"}


def test_reports_of_a_thread_describe_the_latest_turn_only(english_dialogue: list[Turn]) -> None:
    stage = EmoStage(ScriptedChatModel(), checkpointer=InMemorySaver())
    stage.respond(english_dialogue, thread_id="x")
    reply = stage.respond([{"role": "client", "content": "Yes."}], thread_id="x", mode="baseline")
    assert [n.node for n in reply.diagnostics.nodes] == ["screen_risk", "respond_baseline"]


def test_stream_yields_the_reply_sentence_by_sentence(english_dialogue: list[Turn]) -> None:
    deltas = list(EmoStage(ScriptedChatModel()).stream(english_dialogue))
    assert [d.text for d in deltas] == sentence_chunks(SCRIPTED_REPLY) and len(deltas) > 1
    assert not any(d.replaces for d in deltas) and shown_text(deltas) == SCRIPTED_REPLY


def test_arespond_matches_respond(english_dialogue: list[Turn]) -> None:
    import asyncio

    reply = asyncio.run(EmoStage(ScriptedChatModel(phase="rapport")).arespond(english_dialogue))
    assert reply.phase == "rapport" and reply.response == SCRIPTED_REPLY
    assert {n.node for n in reply.diagnostics.nodes} == {*ANALYSES, "draft_rapport"}
    assert all(n.latency_ms >= 0 for n in reply.diagnostics.nodes)
