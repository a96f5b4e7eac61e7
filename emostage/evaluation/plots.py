"""The report's PNG plots: judge criteria, win rates, and phase by position."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and in CI

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from emostage.evaluation.examples import THIRDS
from emostage.evaluation.judge import CRITERIA
from emostage.evaluation.tables import CRITERION_NAMES, LanguageReport, outcome_rates


def criteria_plot(report: LanguageReport, path: Path) -> Path | None:
    """Grouped bars: each criterion's mean per system, scaled to its range, with 95% CIs."""
    if not report.criteria:
        return None
    figure, axes = plt.subplots(figsize=(9, 4))
    systems = list(report.criteria)
    width = 0.8 / len(systems)
    x = np.arange(len(CRITERIA))
    for index, system in enumerate(systems):
        means: list[float] = []
        errors: tuple[list[float], list[float]] = ([], [])
        for name, bounds in CRITERIA.items():
            mean, interval = report.criteria[system][name]
            low, high = interval or (mean, mean)
            means.append(_share(mean, bounds))
            errors[0].append(_share(mean, bounds) - _share(low, bounds))
            errors[1].append(_share(high, bounds) - _share(mean, bounds))
        axes.bar(x + index * width, means, width, yerr=errors, capsize=2, label=system)
    axes.set_xticks(x + width * (len(systems) - 1) / 2, [CRITERION_NAMES[c] for c in CRITERIA])
    axes.tick_params(axis="x", labelsize=8)
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("share of the scale")
    axes.set_title(f"LLM-judge criteria per system ({report.language})")
    axes.legend(fontsize=8)
    return _save(figure, path)


def win_rate_plot(report: LanguageReport, path: Path) -> Path | None:
    """Stacked bars: win, tie and loss rates of each system against the baseline."""
    if not report.outcomes:
        return None
    figure, axes = plt.subplots(figsize=(7, 0.6 + 0.5 * len(report.outcomes)))
    systems = list(report.outcomes)
    left = np.zeros(len(systems))
    for outcome, color in (("win", "#2a9d8f"), ("tie", "#c8c8c8"), ("loss", "#e76f51")):
        rates = np.array([outcome_rates(report.outcomes[s])[outcome] for s in systems])
        axes.barh(systems, rates, left=left, color=color, label=outcome)
        left += rates
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of examples")
    axes.set_title(f"Against the baseline, judged in both orders ({report.language})")
    axes.legend(fontsize=8, ncols=3, loc="lower right")
    return _save(figure, path)


def phase_plot(report: LanguageReport, phase_ids: list[str], path: Path) -> Path | None:
    """Heatmaps: share of each third's replies in each predicted phase, per system."""
    if not report.phase_counts:
        return None
    systems = list(report.phase_counts)
    figure, all_axes = plt.subplots(
        1, len(systems), figsize=(3.2 * len(systems) + 1, 3.5), squeeze=False
    )
    for axes, system in zip(all_axes[0], systems, strict=True):
        counts = report.phase_counts[system]
        empty: Counter[str] = Counter()
        grid = np.array([[float(counts.get(t, empty)[p]) for t in THIRDS] for p in phase_ids])
        totals = grid.sum(axis=0)
        grid = np.divide(grid, totals, out=np.zeros_like(grid), where=totals > 0)
        axes.imshow(grid, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        axes.set_xticks(range(len(THIRDS)), THIRDS)
        axes.set_yticks(range(len(phase_ids)), phase_ids, fontsize=8)
        axes.set_title(system, fontsize=9)
        for (row, column), share in np.ndenumerate(grid):
            color = "white" if share > 0.5 else "black"  # readable on dark cells
            axes.text(column, row, f"{share:.0%}", ha="center", va="center", size=7, color=color)
    figure.suptitle(f"Predicted phase by position in the session ({report.language})")
    return _save(figure, path)


def _share(value: float, bounds: tuple[int, int]) -> float:
    """Where `value` lies on a criterion's scale, from 0 to 1."""
    low, high = bounds
    return (value - low) / (high - low)


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
