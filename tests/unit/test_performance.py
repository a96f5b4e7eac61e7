"""What the performance work relies on, in this process: the simulated server's physics and
the layouts. Behaviour is asserted, never timing budgets. (Over HTTP, the analysis model
and the benchmark's smoke run: tests/integration/test_performance.py.)"""

from __future__ import annotations

import threading
import time

import pytest

from emostage import EmoStage
from emostage.prompts import load_prompts
from emostage.testing import ScriptedChatModel
from emostage.testing.server_speed import ServerSpeed, Slots, approx_tokens, token_pieces

DIALOGUE = [
    {"role": "client", "content": "I can't sleep."},
    {"role": "counselor", "content": "That sounds hard. What keeps you up?"},
    {"role": "client", "content": "Work, mostly. My manager keeps adding tasks."},
]


def test_a_slot_reuses_the_longest_cached_prefix() -> None:
    slots = Slots(ServerSpeed(prefill_tps=100, slots=1))
    with slots.serve(["a", "b", "c"]) as first:
        assert first.cached_tokens == 0 and first.prefill_s == pytest.approx(0.03)
    with slots.serve(["a", "b", "x", "y"]) as second:
        assert second.cached_tokens == 2 and second.prefill_s == pytest.approx(0.02)
    uncached = Slots(ServerSpeed(prefill_tps=100, slots=1, prefix_cache=False))
    with uncached.serve(["a"]):
        pass
    with uncached.serve(["a", "b"]) as again:
        assert again.cached_tokens == 0


def test_a_request_takes_the_least_recently_used_slot_and_copies_the_longest_prefix() -> None:
    slots = Slots(ServerSpeed(prefill_tps=100, slots=2))
    for prompt in (["p", "phase", "1"], ["p", "draft", "1"]):
        with slots.serve(prompt):
            pass
    # Shares one token with both: it evicts the older (phase) prompt, not the draft's.
    with slots.serve(["p", "phase", "2"]) as phase:
        assert phase.cached_tokens == 2
    with slots.serve(["p", "draft", "1", "more"]) as draft:
        assert draft.cached_tokens == 3
    with slots.serve(["p", "phase", "2", "x"]) as again:
        assert again.cached_tokens == 3


def test_requests_beyond_the_slots_wait_in_line() -> None:
    slots = Slots(ServerSpeed(slots=1))
    order: list[str] = []

    def hold(name: str) -> None:
        with slots.serve([name]):
            order.append(f"{name} in")
            time.sleep(0.1)
            order.append(f"{name} out")

    threads = [threading.Thread(target=hold, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
        time.sleep(0.02)
    for thread in threads:
        thread.join()
    assert order == ["a in", "a out", "b in", "b out"]


def test_stream_pieces_rebuild_the_text_on_token_boundaries() -> None:
    for text in ("Hello there, how are you today? Fine.", "こんにちは、元気？", "", "  a  "):
        assert "".join(token_pieces(text)) == text
    assert approx_tokens('{"a": 1}') == ['{"', "a", '":', "1", "}"]


def test_the_sequential_layout_runs_the_same_nodes_one_after_another() -> None:
    parallel = EmoStage(ScriptedChatModel()).respond(DIALOGUE)
    sequential = EmoStage(ScriptedChatModel(), analysis="sequential").respond(DIALOGUE)
    assert sequential.response == parallel.response and sequential.phase == parallel.phase
    order = [n.node for n in sequential.diagnostics.nodes]
    assert order[:3] == ["screen_risk", "recognize_phase", "take_perspective"]


def test_every_call_starts_with_the_prompt_of_the_turn_before_up_to_its_new_messages() -> None:
    model = ScriptedChatModel()
    stage = EmoStage(model, language="en")
    stage.respond(DIALOGUE)
    asked_first = len(model.calls)
    later = [*DIALOGUE, {"role": "counselor", "content": "Tell me more."}]
    stage.respond([*later, {"role": "client", "content": "I feel stuck."}])
    calls = [messages for _, messages in model.calls]
    # Within a turn: one system message and one transcript for every call, then its request.
    for turn in (calls[:asked_first], calls[asked_first:]):
        assert len({tuple(m.text for m in messages[:2]) for messages in turn}) == 1
        assert all(len(messages) == 3 for messages in turn)
    # Across turns: the standing instructions are the same, and the transcript only grows.
    before, after = calls[0], calls[-1]
    assert before[0].text == after[0].text
    assert "phase" in before[0].text and '"feel"' in before[0].text  # both analysis tasks
    assert after[1].text.startswith(before[1].text)
    prompts = load_prompts("en")
    assert {messages[2].text for messages in calls[:2]} == {
        prompts.ask_phase,
        prompts.ask_perspective,
    }
