"""What the performance work relies on, in this process: the simulated server's physics and
the layouts. Behaviour is asserted, never timing budgets. (Over HTTP, the analysis model
and the benchmark's smoke run: tests/integration/test_performance.py.)"""

from __future__ import annotations

import threading
import time

import pytest

from emostage import EmoStage
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


def test_without_the_shared_prefix_the_instruction_comes_before_the_transcript() -> None:
    shared, unshared = ScriptedChatModel(), ScriptedChatModel()
    EmoStage(shared).respond(DIALOGUE)
    EmoStage(unshared).respond(DIALOGUE, shared_prefix=False)
    prefixes = {tuple(m.text for m in messages[:2]) for _, messages in shared.calls}
    assert len(prefixes) == 1  # every call starts with the same persona and transcript
    for _, messages in unshared.calls:
        assert "Work, mostly" in messages[-1].text  # the transcript comes last
