"""Tokens the analysis takes to write per turn, as 0.2 asked for it and as asked now.

The same analysis (bench/outputs.py) in both encodings, counted by two tokenizers: the
simulated server's stand-in (one token per word or run of punctuation), and Gemma 3's
real one (read from the embedded model's GGUF, vocabulary only), when llama.cpp is here.
"""

from __future__ import annotations

from collections.abc import Callable

from bench.outputs import PERSPECTIVE, PHASE, as_written_in_0_2, written
from emostage.analysis import Perspective, PhaseAssessment
from emostage.testing.server_speed import approx_tokens


def gemma_tokenizer() -> Callable[[str], int] | None:
    """Gemma 3's token count of a text, or None without llama.cpp or the model package."""
    try:
        import llama_cpp

        from emostage.models.backends.llamacpp import embedded_model_path

        vocabulary = llama_cpp.Llama(str(embedded_model_path()), vocab_only=True, verbose=False)
    except (ImportError, ValueError, RuntimeError):
        return None
    return lambda text: len(vocabulary.tokenize(text.encode(), add_bos=False))


def analysis_tokens() -> dict[str, dict[str, int]]:
    """Per encoding: phase, perspective and per-turn tokens, by each tokenizer."""
    counters: dict[str, Callable[[str], int]] = {"stand-in": lambda t: len(approx_tokens(t))}
    if gemma := gemma_tokenizer():
        counters["Gemma 3"] = gemma
    encodings = {
        "0.2 (full keys, every key, spaced)": (
            as_written_in_0_2(PHASE, PhaseAssessment),
            as_written_in_0_2(PERSPECTIVE, Perspective),
        ),
        "now (short keys, defaults left out, one line)": (written(PHASE), written(PERSPECTIVE)),
    }
    found = {}
    for name, (phase, perspective) in encodings.items():
        row = {}
        for tokenizer, count in counters.items():
            row[f"phase, {tokenizer}"] = count(phase)
            row[f"perspective, {tokenizer}"] = count(perspective)
            row[f"per turn, {tokenizer}"] = count(phase) + count(perspective)
        found[name] = row
    return found
