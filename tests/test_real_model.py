"""The whole pipeline on a real model: the embedded Gemma 3 270M through llama.cpp, on CPU.

The model is tiny and not chat-tuned, so these tests assert structure, never wording.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from emostage import EmoStage, Perspective, load_dialogue, load_taxonomy
from emostage.backends.llamacpp import ChatLlamaCpp
from emostage.calls import phase_schema
from emostage.context import Context
from emostage.llm import build_chat_model
from emostage.messages import TurnView, perspective_instruction, phase_instruction
from emostage.testing.ollama_server import FakeOllama

from .conftest import EXAMPLES

IVEY = load_taxonomy("ivey")
LANGUAGE_EXAMPLES = {
    "ja": EXAMPLES / "ja_work_stress.json",
    "zh": EXAMPLES / "zh_exam_anxiety.json",
    "en": EXAMPLES / "en_breakup.json",
}


@pytest.fixture(scope="module")
def embedded() -> ChatLlamaCpp:
    # Short replies keep the suite fast; the JSON grammar bounds the analyses anyway.
    model = build_chat_model(Context(backend="llamacpp", max_tokens=128, temperature=0.2))
    assert isinstance(model, ChatLlamaCpp)
    return model


def assert_structure(stage: EmoStage, path: Path, language: str) -> None:
    reply = stage.respond(load_dialogue(path))
    assert reply.language == language
    assert reply.phase in IVEY.ids
    assert isinstance(reply.perspective, Perspective)
    assert reply.response.strip()
    latencies = {n.node: n.latency_ms for n in reply.diagnostics.nodes}
    assert set(latencies) == {"recognize_phase", "take_perspective", f"draft_{reply.phase}"}
    assert all(ms > 0 for ms in latencies.values())


@pytest.mark.parametrize("language", LANGUAGE_EXAMPLES)
def test_full_turn_in_process(embedded: ChatLlamaCpp, language: str) -> None:
    assert_structure(EmoStage(embedded), LANGUAGE_EXAMPLES[language], language)


@pytest.fixture(scope="module")
def real_ollama(embedded: ChatLlamaCpp) -> Iterator[FakeOllama]:
    with FakeOllama(embedded) as server:
        yield server


def test_default_ollama_backend_over_http_with_a_real_model(real_ollama: FakeOllama) -> None:
    stage = EmoStage(ollama_host=real_ollama.url, max_tokens=128)
    stage.preflight()
    assert_structure(stage, LANGUAGE_EXAMPLES["ja"], "ja")
    formats = [r.get("format") for r in real_ollama.requests[-3:]]
    assert sum(isinstance(f, dict) for f in formats) == 2  # phase and perspective schemas


def test_grammar_parses_structured_output_at_least_9_of_10(embedded: ChatLlamaCpp) -> None:
    context = Context()
    schema = phase_schema(tuple(IVEY.ids))
    examples = sorted(EXAMPLES.glob("*.json"))[:5]
    roomy = embedded.model_copy(update={"max_tokens": 256})  # same loaded model, longer answers
    parsed = []
    for path in examples:
        view = TurnView.of(load_dialogue(path), context)
        asks = [
            (schema, phase_instruction(IVEY, view.prompts, view.language)),
            (Perspective, perspective_instruction(view.prompts)),
        ]
        for target, instruction in asks:
            answer = roomy.with_structured_output(target, include_raw=True)
            result = answer.invoke([*view.prefix, HumanMessage(instruction)])
            parsed.append(result["parsing_error"] is None and isinstance(result["parsed"], target))
    assert len(parsed) == 10
    assert sum(parsed) >= 9, parsed
