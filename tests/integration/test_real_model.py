"""The whole pipeline on a real model: the embedded Gemma 3 270M through llama.cpp, on CPU.

The model is tiny and not chat-tuned, so these tests assert structure, never wording.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from pydantic import BaseModel

from emostage import EmoStage, Perspective, load_dialogue, load_taxonomy
from emostage.analysis import phase_schema
from emostage.context import Context
from emostage.models.backends.llamacpp import ChatLlamaCpp, embedded_model_path
from emostage.models.source import build_chat_model
from emostage.prompts.messages import DialogueView, perspective_instruction, phase_instruction
from emostage.testing.ollama_server import FakeOllama

from ..conftest import EXAMPLES, emostage, free_port, server_process

pytestmark = pytest.mark.real_model

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
    assert set(latencies) == {
        "screen_risk",
        "recognize_phase",
        "take_perspective",
        # A crisis, or a follow-up on a safety question still open from an earlier turn.
        "draft_crisis"
        if reply.risk.level == "crisis" or reply.risk.carried_from_turn is not None
        else f"draft_{reply.phase}",
    }
    assert all(latencies[n] > 0 for n in ("recognize_phase", "take_perspective"))


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
        view = DialogueView.of(load_dialogue(path), context, IVEY)
        asks: list[tuple[type[BaseModel], str]] = [
            (schema, view.prompts.ask_phase),
            (Perspective, view.prompts.ask_perspective),
        ]
        for target, request in asks:
            answer = roomy.with_structured_output(target, include_raw=True)
            result = answer.invoke(view.ask(request))
            parsed.append(result["parsing_error"] is None and isinstance(result["parsed"], target))
    assert len(parsed) == 10
    assert sum(parsed) >= 9, parsed


def test_the_analysis_is_never_cut_off_by_the_reply_length(embedded: ChatLlamaCpp) -> None:
    # The reply's cap is short; the analysis calls take their schema's, so a turn asks
    # each model call once, and nothing falls back.
    short = embedded.model_copy(update={"max_tokens": 16, "temperature": 0.0})
    reply = EmoStage(short).respond(load_dialogue(LANGUAGE_EXAMPLES["en"]))
    calls = {n.node: n.model_calls for n in reply.diagnostics.nodes if n.model_calls}
    assert calls == dict.fromkeys(calls, 1) and len(calls) == 3
    assert reply.diagnostics.fallbacks == []


def test_grammar_checked_on_the_best_candidates_picks_what_the_full_check_picks(
    embedded: ChatLlamaCpp,
) -> None:
    import llama_cpp

    from emostage.models.backends.llamacpp import EMBEDDED_CHAT_FORMAT, compact_json_grammar
    from emostage.models.backends.llamacpp_grammar import fast_grammar_llama

    fast = embedded._llama
    assert type(fast) is fast_grammar_llama() and type(fast) is not llama_cpp.Llama
    plain = llama_cpp.Llama(
        str(embedded_model_path()), n_ctx=4096, chat_format=EMBEDDED_CHAT_FORMAT, verbose=False
    )
    view = DialogueView.of(load_dialogue(LANGUAGE_EXAMPLES["zh"]), Context(), IVEY)
    asks: list[tuple[type[BaseModel], str]] = [
        (phase_schema(tuple(IVEY.ids)), phase_instruction(IVEY, view.prompts, view.language)),
        (Perspective, perspective_instruction(view.prompts)),
    ]
    llms: list[Any] = [fast, plain]
    for schema, instruction in asks:
        messages: Any = [{"role": "user", "content": f"{view.prefix[1].text}\n\n{instruction}"}]
        grammar = compact_json_grammar(json.dumps(schema.model_json_schema()))
        answers = [
            llm.create_chat_completion(
                messages=messages, grammar=grammar, temperature=0.0, max_tokens=200
            )["choices"][0]["message"]["content"]
            for llm in llms
        ]
        assert answers[0] == answers[1]
        assert schema.model_validate(json.loads(answers[0]))


def test_cli_llamacpp_backend_with_a_model_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOSTAGE_MAX_TOKENS", "64")
    gguf = str(embedded_model_path())
    args = ["respond", "--json", "--backend", "llamacpp", "--model-path", gguf]
    result = emostage(*args, LANGUAGE_EXAMPLES["en"])
    assert result.exit_code == 0, result.output
    assert '"model": "llamacpp:' in result.stdout


@pytest.fixture(scope="module")
def openai_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server, on a free loopback port."""
    port = free_port()
    command = [sys.executable, "-m", "emostage.models.backends.llamacpp_cpu", "llama_cpp.server"]
    command += ["--model", str(embedded_model_path())]
    command += ["--chat_format", "gemma", "--model_alias", "gemma3-270m"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192"]
    url = f"http://127.0.0.1:{port}/v1"
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with server_process(command, f"{url}/models", timeout_s=60, log=log):
        yield url


def test_openai_backend_against_llama_cpp_server(openai_server: str) -> None:
    stage = EmoStage(backend="openai", base_url=openai_server, model="gemma3-270m", max_tokens=96)
    stage.preflight()
    assert_structure(stage, LANGUAGE_EXAMPLES["zh"], "zh")


def test_llamacpp_reports_the_prompt_prefix_it_reused(embedded: ChatLlamaCpp) -> None:
    shared = [HumanMessage("You are a counselor. " * 20), HumanMessage("Client: I can't sleep.")]
    embedded.invoke([HumanMessage("Something else entirely.")], max_tokens=16)
    first = embedded.invoke([*shared, HumanMessage("Reply briefly.")], max_tokens=16)
    second = embedded.invoke([*shared, HumanMessage("Name one feeling.")], max_tokens=16)
    assert first.usage_metadata and second.usage_metadata
    assert second.usage_metadata["input_token_details"]["cache_read"] > 50
    assert first.usage_metadata["input_token_details"]["cache_read"] < 10


def test_llama_cpps_own_log_lines_never_reach_the_terminal() -> None:
    # A process of its own: the log callback is set once per process, as for a user.
    ran = emostage("respond", "--backend", "llamacpp", "--json", LANGUAGE_EXAMPLES["ja"],
                   process=True, timeout=600)  # fmt: skip
    assert ran.exit_code == 0, ran.stderr
    assert json.loads(ran.stdout)["response"]
    noise = [line for line in ran.stderr.splitlines() if not line.startswith("warning: ")]
    assert noise == [], noise  # was: "llama_kv_cache_iswa: using full-size SWA cache ..."
