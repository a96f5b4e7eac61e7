"""Aggregate a run's records into per-language tables with 95% bootstrap intervals."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scipy.stats import spearmanr

from emostage.evaluation.examples import THIRDS, Example
from emostage.evaluation.judge import CRITERIA, pair_outcome
from emostage.evaluation.metrics import (
    Interval,
    distinct,
    mean_interval,
    reference_scores,
)
from emostage.evaluation.ratings import HUMAN_CRITERIA
from emostage.evaluation.systems import SYSTEMS
from emostage.languages import Language
from emostage.prompts.phases import Taxonomy

CRITERION_NAMES = {
    "comprehensiveness": "Comprehensive (0–2)",
    "professionalism": "Professional (0–3)",
    "authenticity": "Authentic (0–3)",
    "safety": "Safe (0–1)",
    "empathy": "Empathy (1–5)",
    "phase_appropriateness": "Phase fit (1–5)",
}


@dataclass
class Table:
    """A titled table of formatted cells."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""


@dataclass
class LanguageReport:
    """Everything reported for one language: tables, and the numbers behind the plots."""

    language: Language
    tables: list[Table]
    criteria: dict[str, dict[str, tuple[float, Interval]]]  # system -> criterion -> mean, CI
    outcomes: dict[str, Counter[str]]  # system -> win/tie/loss counts
    phase_counts: dict[str, dict[str, Counter[str]]]  # system -> third -> phase counts


@dataclass
class Records:
    """A run's records, indexed by (example id, system)."""

    examples: dict[str, Example]
    generations: dict[tuple[str, str], dict[str, Any]]
    scores: dict[tuple[str, str], dict[str, Any]]
    pairs: dict[tuple[str, str, str], dict[str, Any]]
    human: list[dict[str, Any]]


def language_report(
    records: Records, language: Language, taxonomy: Taxonomy, seed: int
) -> LanguageReport:
    """Tables for one language's examples."""
    ids = [e.id for e in records.examples.values() if e.language == language]
    systems: list[str] = [s for s in SYSTEMS if any((i, s) in records.generations for i in ids)]
    builder = _Builder(records, ids, systems, language, seed)
    criteria = builder.criteria()
    outcomes = builder.outcomes()
    phase_counts, phase_table = builder.phases(taxonomy)
    tables = [
        builder.reference_table(),
        builder.criteria_table(criteria),
        builder.pairwise_table(outcomes),
        phase_table,
        builder.cost_table(),
    ]
    if human := builder.human_table():
        tables.append(human)
    headline = summary(systems, builder.headline)
    return LanguageReport(language, [headline, *tables], criteria, outcomes, phase_counts)


HEADLINES = [
    "BLEU-1",
    "ROUGE-L",
    "Distinct-2",
    "Empathy",
    "Phase fit",
    "Win % vs baseline",
    "Model calls",
    "Seconds",
]


def summary(systems: list[str], headline: dict[str, dict[str, str]]) -> Table:
    """The headline numbers, systems as rows, as the detailed tables computed them."""
    found = Table(
        "Summary",
        ["System", *HEADLINES],
        note="Headline numbers from the tables below, mean [95% CI]; – where not measured.",
    )
    for system in systems:
        found.rows.append([system, *(headline[system].get(name, "–") for name in HEADLINES)])
    return found


@dataclass
class _Builder:
    records: Records
    ids: list[str]
    systems: list[str]
    language: Language
    seed: int
    headline: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    """Per system, the summary's cells, recorded by each table as it computes them."""

    def _replies(self, system: str) -> list[tuple[Example, dict[str, Any]]]:
        found = ((i, self.records.generations.get((i, system))) for i in self.ids)
        return [(self.records.examples[i], g) for i, g in found if g is not None]

    def reference_table(self) -> Table:
        table = Table(
            "Reference-based metrics (×100)",
            ["System", "BLEU-1", "BLEU-4", "ROUGE-L", "Distinct-1", "Distinct-2", "n"],
            note="Sentence-level BLEU and ROUGE-L F1 against the human counselor's turn, "
            "mean [95% CI]; Distinct-n over all of a system's replies (no interval: "
            "resampling repeats replies and biases it down). ja and zh are scored by character.",
        )
        for system in self.systems:
            pairs = self._replies(system)
            scored = [reference_scores(g["reply"], e.reference, self.language) for e, g in pairs]
            replies = [g["reply"] for _, g in pairs]
            cells = [_cell([s["bleu1"] for s in scored], self.seed)]
            cells.append(_cell([s["bleu4"] for s in scored], self.seed))
            cells.append(_cell([100 * s["rougeL"] for s in scored], self.seed))
            cells += [f"{100 * distinct(replies, self.language, n):.2f}" for n in (1, 2)]
            table.rows.append([system, *cells, str(len(pairs))])
            self.headline[system] |= {
                "BLEU-1": cells[0],
                "ROUGE-L": cells[2],
                "Distinct-2": cells[4],
            }
        return table

    def criteria(self) -> dict[str, dict[str, tuple[float, Interval]]]:
        found: dict[str, dict[str, tuple[float, Interval]]] = {}
        for system in self.systems:
            judged = [self.records.scores.get((i, system)) for i in self.ids]
            valid = [j["scores"] for j in judged if j and j.get("scores")]
            if valid:
                found[system] = {
                    name: _mean_ci([v[name] for v in valid], self.seed) for name in CRITERIA
                }
        return found

    def criteria_table(self, criteria: dict[str, dict[str, tuple[float, Interval]]]) -> Table:
        table = Table(
            "LLM-judge scores",
            ["System", *CRITERION_NAMES.values(), "judged", "unparseable"],
            note="CPsyCoun turn-level criteria plus empathy and phase fit; mean [95% CI].",
        )
        for system in self.systems:
            judged = [self.records.scores.get((i, system)) for i in self.ids]
            done = [j for j in judged if j]
            failed = sum(not j.get("scores") for j in done)
            cells = [_format(*criteria[system][c]) if system in criteria else "–" for c in CRITERIA]
            table.rows.append([system, *cells, str(len(done) - failed), str(failed)])
            by_name = dict(zip(CRITERIA, cells, strict=True))
            self.headline[system] |= {
                "Empathy": by_name["empathy"],
                "Phase fit": by_name["phase_appropriateness"],
            }
        return table

    def outcomes(self) -> dict[str, Counter[str]]:
        found: dict[str, Counter[str]] = {}
        for system in self.systems:
            counts: Counter[str] = Counter()
            for i in self.ids:
                first = self.records.pairs.get((i, system, "system_first"))
                second = self.records.pairs.get((i, system, "baseline_first"))
                if first and second:
                    counts[pair_outcome(first["better"] or "", second["better"] or "")] += 1
                    counts["consistent"] += _consistent(first["better"], second["better"])
            if counts:
                found[system] = counts
        return found

    def pairwise_table(self, outcomes: dict[str, Counter[str]]) -> Table:
        table = Table(
            "Pairwise preference against the baseline (judged in both orders)",
            ["System", "Win %", "Tie %", "Loss %", "Order-consistent %", "n"],
            note="A win or loss counts only when the judge prefers the same reply in both "
            "orders; every other pair is a tie.",
        )
        for system, counts in outcomes.items():
            rates = outcome_rates(counts)
            cells = [f"{100 * rates[k]:.0f}" for k in ("win", "tie", "loss", "consistent")]
            table.rows.append([system, *cells, str(sum(counts[k] for k in OUTCOMES))])
            self.headline[system]["Win % vs baseline"] = cells[0]
        return table

    def phases(self, taxonomy: Taxonomy) -> tuple[dict[str, dict[str, Counter[str]]], Table]:
        table = Table(
            "Phase sanity: predicted phase against position in the session",
            ["System", "Spearman ρ", "p", "n", *(f"{t} (top phase)" for t in THIRDS)],
            note="No gold phases exist; a session should drift from the first phase "
            "toward closing, so ρ should be positive.",
        )
        order = {phase: rank for rank, phase in enumerate(taxonomy.ids)}
        counts: dict[str, dict[str, Counter[str]]] = {}
        for system in self.systems:
            pairs = [(e, g) for e, g in self._replies(system) if g.get("phase") in order]
            if not pairs:
                continue
            by_third: dict[str, Counter[str]] = defaultdict(Counter)
            for example, generation in pairs:
                by_third[example.third or "unknown"][generation["phase"]] += 1
            counts[system] = dict(by_third)
            placed = [(e.position, order[g["phase"]]) for e, g in pairs if e.position is not None]
            rho, p = _spearman(placed)
            tops = [by_third[t].most_common(1)[0][0] if by_third[t] else "–" for t in THIRDS]
            table.rows.append([system, rho, p, str(len(placed)), *tops])
        return counts, table

    def cost_table(self) -> Table:
        judged = [r for (i, _), r in self.records.scores.items() if i in self.ids]
        judged += [r for (i, _, _), r in self.records.pairs.items() if i in self.ids]
        table = Table(
            "Cost per reply (generator model)",
            ["System", "Model calls", "Prompt tokens", "Completion tokens", "Seconds", "Total s"],
            note=f"The judge made {sum(r.get('calls', 0) for r in judged)} calls, "
            f"{sum(r.get('input_tokens', 0) for r in judged)} prompt and "
            f"{sum(r.get('output_tokens', 0) for r in judged)} completion tokens in all.",
        )
        for system in self.systems:
            generated = [g for _, g in self._replies(system)]
            if not generated:
                continue
            means = [
                f"{sum(g[k] for g in generated) / len(generated):.1f}"
                for k in ("calls", "input_tokens", "output_tokens", "seconds")
            ]
            total = sum(g["seconds"] for g in generated)
            table.rows.append([system, *means, f"{total:.0f}"])
            self.headline[system] |= {"Model calls": means[0], "Seconds": means[3]}
        return table

    def human_table(self) -> Table | None:
        ratings = [r for r in self.records.human if r["example"] in set(self.ids)]
        if not ratings:
            return None
        table = Table(
            "Human counselor ratings (blinded)",
            ["System", *(f"{name} (1–5)" for name in HUMAN_CRITERIA), "ratings"],
        )
        for system in self.systems:
            mine = [r for r in ratings if r["system"] == system]
            if mine:
                cells = [
                    _format(*_mean_ci([r[c] for r in mine if r[c] is not None], self.seed))
                    for c in HUMAN_CRITERIA
                ]
                table.rows.append([system, *cells, str(len(mine))])
        return table


OUTCOMES = ("win", "tie", "loss")


def outcome_rates(counts: Counter[str]) -> dict[str, float]:
    """Win, tie, loss and order-consistency as shares of the judged pairs."""
    n = max(sum(counts[k] for k in OUTCOMES), 1)
    return {k: counts[k] / n for k in (*OUTCOMES, "consistent")}


def _consistent(first: str | None, second: str | None) -> bool:
    """Did the judge pick the same reply (or tie) after the swap?"""
    swapped = {"A": "B", "B": "A", "tie": "tie"}
    return first is not None and swapped.get(first) == second


def _spearman(points: Sequence[tuple[float, int]]) -> tuple[str, str]:
    if len(points) < 3 or len({p for p, _ in points}) < 2 or len({r for _, r in points}) < 2:
        return "–", "–"
    result: Any = spearmanr([p for p, _ in points], [r for _, r in points])
    return f"{result.statistic:.2f}", f"{result.pvalue:.3f}"


def _mean_ci(values: Sequence[float], seed: int) -> tuple[float, Interval]:
    return (sum(values) / len(values) if values else float("nan")), mean_interval(values, seed)


def _cell(values: Sequence[float], seed: int) -> str:
    return _format(*_mean_ci(values, seed)) if values else "–"


def _format(value: float, interval: Interval) -> str:
    if interval is None:
        return f"{value:.2f}"
    return f"{value:.2f} [{interval[0]:.2f}, {interval[1]:.2f}]"
