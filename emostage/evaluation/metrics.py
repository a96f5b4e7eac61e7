"""Reference-based metrics (BLEU-1/4, ROUGE-L, Distinct-1/2) and bootstrap intervals.

One tokenization serves every metric: Japanese and Chinese by character (as in the
KokoroChat paper), English by sacrebleu's standard `13a` tokenizer, lowercased.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
from nltk.util import ngrams
from rouge_score.rouge_scorer import RougeScorer
from sacrebleu.metrics.bleu import BLEU
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from scipy.stats import bootstrap

from emostage.languages import Language

Interval = tuple[float, float] | None


def tokenize(text: str, language: Language) -> list[str]:
    """Characters for ja and zh (whitespace dropped), 13a words for en."""
    if language in ("ja", "zh"):
        return [char for char in text if not char.isspace()]
    words: str = Tokenizer13a()(text.lower())  # type: ignore[no-untyped-call]
    return words.split()


class _LanguageTokenizer:
    """rouge-score's tokenizer interface over `tokenize` (its default drops non-ASCII)."""

    def __init__(self, language: Language) -> None:
        self.language = language

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text, self.language)


@cache
def _bleu(order: int) -> BLEU:
    # Text arrives pre-tokenized, so sacrebleu only splits on spaces.
    return BLEU(max_ngram_order=order, tokenize="none", effective_order=True)


@cache
def _rouge(language: Language) -> RougeScorer:
    return RougeScorer(["rougeL"], tokenizer=_LanguageTokenizer(language))


def reference_scores(hypothesis: str, reference: str, language: Language) -> dict[str, float]:
    """Sentence-level BLEU-1, BLEU-4 (0-100, exponential smoothing) and ROUGE-L F1 (0-1)."""
    hyp = " ".join(tokenize(hypothesis, language))
    ref = " ".join(tokenize(reference, language))
    return {
        "bleu1": _bleu(1).sentence_score(hyp, [ref]).score,
        "bleu4": _bleu(4).sentence_score(hyp, [ref]).score,
        "rougeL": _rouge(language).score(reference, hypothesis)["rougeL"].fmeasure,
    }


def distinct(texts: Sequence[str], language: Language, n: int) -> float:
    """Distinct-n over a system's replies: unique n-grams / all n-grams (0 when none)."""
    grams = [gram for text in texts for gram in ngrams(tokenize(text, language), n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def mean_interval(values: Sequence[float], seed: int, resamples: int = 2000) -> Interval:
    """95% percentile-bootstrap interval of the mean; None below two distinct values."""
    if len(set(values)) < 2:
        return None
    result = bootstrap(
        (np.asarray(values, dtype=float),),
        np.mean,
        n_resamples=resamples,
        confidence_level=0.95,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return float(low), float(high)
