"""Write a run's report: `report.md`, PNG plots, and a self-contained `report.html`."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emostage.evaluation.plots import criteria_plot, phase_plot, win_rate_plot
from emostage.evaluation.rundir import RunConfig, RunDir
from emostage.evaluation.tables import LanguageReport, Records, Table, language_report
from emostage.prompts.phases import load_taxonomy


@dataclass(frozen=True)
class ReportFiles:
    """Where the report went."""

    markdown: Path
    html: Path
    plots: list[Path]


def write_report(run: RunDir) -> ReportFiles:
    """Aggregate the run's records and write the report into `RUNDIR/report/`."""
    config = run.load_config()
    taxonomy = load_taxonomy(config.taxonomy)
    records = load_records(run)
    folder = run.path / "report"
    folder.mkdir(exist_ok=True)
    sections: list[tuple[LanguageReport, list[Path]]] = []
    for language in config.languages:
        report = language_report(records, language, taxonomy, config.seed)
        plots = [
            criteria_plot(report, folder / f"criteria_{language}.png"),
            win_rate_plot(report, folder / f"win_rates_{language}.png"),
            phase_plot(report, list(taxonomy.ids), folder / f"phases_{language}.png"),
        ]
        sections.append((report, [p for p in plots if p is not None]))
    markdown = folder / "report.md"
    markdown.write_text(_markdown(config, sections), "utf-8")
    page = folder / "report.html"
    page.write_text(_html(config, sections), "utf-8")
    return ReportFiles(markdown, page, [p for _, plots in sections for p in plots])


def load_records(run: RunDir) -> Records:
    """Index a run's records by example and system."""
    examples = {e.id: e for e in run.load_examples()}
    return Records(
        examples=examples,
        generations=run.load_generations(examples),
        scores={(r["example"], r["system"]): r for r in run.scores.read()},
        pairs={(r["example"], r["system"], r["order"]): r for r in run.pairs.read()},
        human=run.human.read(),
    )


def _summary(config: RunConfig) -> list[str]:
    judge = _model_name(config.judge) if config.judge else "not judged yet"
    lines = [
        f"- Generator: {_model_name(config.generator)}; judge: {judge}",
        f"- Data: `{config.data}`; {config.examples} examples ({config.n} per dialogue, "
        f"stratified by thirds, seed {config.seed}); taxonomy `{config.taxonomy}`",
        f"- EmoStage {config.emostage_version}, created {config.created}; "
        "everything needed to reproduce the run is in `config.json`.",
        "- Intervals are 95% percentile bootstrap intervals over examples.",
    ]
    if config.judge and _model_name(config.judge) == _model_name(config.generator):
        lines.append("- Caution: the judge is the generator model, which may favor its own text.")
    return lines


def _model_name(identity: dict[str, Any]) -> str:
    digest = identity.get("digest")
    suffix = f" ({str(digest)[:19]})" if digest else ""
    return f"{identity['backend']}:{identity['model']}{suffix}"


def _markdown(config: RunConfig, sections: list[tuple[LanguageReport, list[Path]]]) -> str:
    lines = ["# EmoStage evaluation report", "", *_summary(config)]
    for report, plots in sections:
        lines += ["", f"## {report.language}"]
        for table in report.tables:
            lines += ["", *_markdown_table(table)]
        lines += [""] + [f"![{p.stem}]({p.name})" for p in plots]
    return "\n".join(lines) + "\n"


def _markdown_table(table: Table) -> list[str]:
    def row(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    lines = [f"### {table.title}", "", row(table.columns), row(["---"] * len(table.columns))]
    lines += [row(cells) for cells in table.rows] or ["(no data)"]
    return [*lines, *(["", f"_{table.note}_"] if table.note else [])]


def _html(config: RunConfig, sections: list[tuple[LanguageReport, list[Path]]]) -> str:
    body = ["<h1>EmoStage evaluation report</h1>", "<ul>"]
    body += [f"<li>{html.escape(line[2:])}</li>" for line in _summary(config)]
    body.append("</ul>")
    for report, plots in sections:
        body.append(f"<h2>{html.escape(report.language)}</h2>")
        for table in report.tables:
            body.append(_html_table(table))
        for plot in plots:
            data = base64.b64encode(plot.read_bytes()).decode()
            body.append(f'<img alt="{plot.stem}" src="data:image/png;base64,{data}">')
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:.5em 0;font-size:90%}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
    )
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>EmoStage evaluation</title>'
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
        for cells in table.rows
    )
    note = f"<p><em>{html.escape(table.note)}</em></p>" if table.note else ""
    return f"<h3>{html.escape(table.title)}</h3><table><tr>{head}</tr>{rows}</table>{note}"
