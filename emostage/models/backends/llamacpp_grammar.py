"""Grammar-constrained decoding on llama.cpp at the cost of plain decoding.

llama-cpp-python applies a JSON grammar to every token of the vocabulary at every step:
for Gemma 3's 262,144 tokens that costs about 40 ms a token on this machine's CPU, three
times the model's own decoding. Most of the time the model's top candidate already fits
the grammar, so llama.cpp's own tools check the best candidates first and fall back to the
whole vocabulary only when none fits. This does the same, as a stage in front of the
grammar in llama-cpp-python's sampler chain:
- it takes the `CANDIDATES` highest-scoring tokens and asks the grammar which of them fit;
- if any do, it keeps only those; the grammar and the rest of the chain then see them;
- if none do, it leaves the vocabulary whole, and the grammar filters it as before.

At temperature 0 the token chosen is exactly the one the full check would choose: the best
token that fits is among the best candidates whenever any of them fits. With sampling, the
choice is among the best-scoring tokens that fit, which is what top-k (40) keeps anyway.

It relies on llama-cpp-python's sampler internals (pinned in `llamacpp_build.py`):
`fast_grammar_llama` returns the plain `Llama` class when they are not as expected.
"""

from __future__ import annotations

import ctypes
from functools import cache
from typing import Any

import numpy as np

CANDIDATES = 256


@cache
def fast_grammar_llama() -> type[Any]:
    """`llama_cpp.Llama`, with the grammar checked on the best candidates first."""
    import llama_cpp
    from llama_cpp import _internals

    needed = ("llama_sampler_init_grammar", "llama_sampler_chain_remove", "llama_sampler_apply")
    if not all(hasattr(llama_cpp, name) for name in needed) or not hasattr(
        llama_cpp.Llama, "_init_sampler"
    ):
        return llama_cpp.Llama

    class FastGrammarLlama(llama_cpp.Llama):
        """`Llama` whose grammar sampler is preceded by a best-candidates check."""

        def _init_sampler(self, *args: Any, **kwargs: Any) -> Any:
            grammar = kwargs.pop("grammar", None)
            kwargs["grammar"] = None
            chain = super()._init_sampler(*args, **kwargs)
            if grammar is None:
                return chain
            checker = llama_cpp.llama_sampler_init_grammar(
                self._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
            )
            # The chain is [logits processors, penalties, ..., greedy or dist]; the grammar
            # goes after the processors, as llama-cpp-python puts it, with the check before.
            first = len(chain.custom_samplers)
            rest = [
                llama_cpp.llama_sampler_chain_remove(chain.sampler, first)
                for _ in range(llama_cpp.llama_sampler_chain_n(chain.sampler) - first)
            ]
            chain.add_custom(_BestCandidates(llama_cpp, checker).apply)
            llama_cpp.llama_sampler_chain_add(chain.sampler, checker)  # owned by the chain
            for sampler in rest:
                llama_cpp.llama_sampler_chain_add(chain.sampler, sampler)
            return chain

    del _internals  # imported only to fail early if the module is missing
    return FastGrammarLlama


class _BestCandidates:
    """The chain stage: keep the best candidates that fit the grammar, if any do."""

    def __init__(self, llama_cpp: Any, grammar: Any) -> None:
        self.llama_cpp = llama_cpp
        self.grammar = grammar  # the chain's own grammar sampler: its state is current

    def apply(self, candidates_p: Any) -> None:
        candidates = candidates_p.contents
        size = int(candidates.size)
        if size <= CANDIDATES:
            return
        view = np.ctypeslib.as_array(candidates.data, shape=(size,))
        logits = view["logit"]
        best = np.argpartition(logits, -CANDIDATES)[-CANDIDATES:]
        best = best[np.argsort(-logits[best], kind="stable")]
        trial = (self.llama_cpp.llama_token_data * CANDIDATES)()
        trial_view = np.ctypeslib.as_array(trial)
        trial_view[:] = view[best]
        trial_array = self.llama_cpp.llama_token_data_array(trial, CANDIDATES, -1, True)
        self.llama_cpp.llama_sampler_apply(self.grammar, ctypes.byref(trial_array))
        fits = np.isfinite(trial_view["logit"])
        count = int(fits.sum())
        if not count:
            return  # the grammar filters the whole vocabulary, as without this stage
        view[:count] = trial_view[fits]
        candidates.size = count
        candidates.selected = -1
        candidates.sorted = True
