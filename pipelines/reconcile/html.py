"""The run as one self-contained HTML page: per dataset a table (rows, keys, missing, extra, duplicates,
mismatched per stage, with the first keys and columns) and an inline SVG bar chart of rows per stage, the
problem rows stacked in red. No script, no external asset: it opens from a file in any browser."""

from __future__ import annotations

from html import escape
from typing import Any

from pipelines.reconcile.report import DatasetReport, RunReport, StageReport, note

#: the chart's colours (the browser test looks for them in a screenshot)
ROWS_COLOUR = "#1f77b4"
PROBLEM_COLOUR = "#d62728"
BAR_W, GAP, CHART_H = 56, 18, 140

STYLE = """
body{font-family:DejaVu Sans,Arial,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 4px}td,th{border:1px solid #bbb;padding:3px 8px;font-size:13px}
th{background:#eee}td.n{text-align:right}tr.bad td{background:#fde8e8}.ok{color:#1a7f37}.bad{color:#b42318}
.note{font-size:12px;color:#555}section{margin-bottom:28px}
"""


def render(report: RunReport) -> str:
    verdict = "ok" if report.ok else "FAILED"
    body = "".join(_dataset(d, report) for d in report.datasets)
    failures = "".join(f"<li>{escape(line)}</li>" for line in report.failures())
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Reconciliation {escape(report.run_id)}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>Reconciliation <span class='{'ok' if report.ok else 'bad'}'>{verdict}</span></h1>"
        f"<p class='note'>run {escape(report.run_id)} · stack {escape(report.stack)} · started {escape(report.started)}"
        f" · {report.seconds:.1f}s · thresholds: missing ≤ {report.thresholds.max_missing}, "
        f"mismatched ≤ {report.thresholds.max_mismatched}</p>"
        + (f"<ul class='bad'>{failures}</ul>" if failures else "")
        + body
        + "</body></html>"
    )


def _dataset(d: DatasetReport, report: RunReport) -> str:
    bad = {line.split(":", 1)[0] for line in d.failures(report.thresholds)}
    head = "".join(f"<th>{h}</th>" for h in ("stage", "rows", "keys", "missing", "extra", "duplicates",
                                             "mismatched", "", "first findings", "where"))  # fmt: skip
    rows = "".join(_row(d, s, bad) for s in d.stages)
    error = f"<p class='bad'>{escape(d.error)}</p>" if d.error else ""
    return (
        f"<section id='{escape(d.dataset)}'><h2>{escape(d.dataset)}</h2>"
        f"<p class='note'>reference: {escape(str(d.reference))} · rejected at conversion: {d.rejected:,}</p>{error}"
        f"<table><tr>{head}</tr>{rows}</table>{chart(d)}</section>"
    )


def _row(d: DatasetReport, s: StageReport, bad: set[str]) -> str:
    c = s.comparison
    failed = f"{d.dataset} {s.stage}" in bad
    cells: list[Any] = [c.rows, c.keys, c.missing.count if s.complete else "—", c.extra.count, c.duplicates.count,
                        c.mismatched.count]  # fmt: skip
    numbers = "".join(f"<td class='n'>{v:,}</td>" if isinstance(v, int) else f"<td class='n'>{v}</td>" for v in cells)
    status = "<td class='bad'>FAIL</td>" if failed else "<td class='ok'>ok</td>"
    first = escape(note(d, s))
    return (
        f"<tr class='{'bad' if failed else ''}'><td>{escape(s.stage)}</td>{numbers}{status}"
        f"<td class='note'>{first}</td><td class='note'>{escape(s.where)}</td></tr>"
    )


def chart(d: DatasetReport) -> str:
    """Bars of rows per stage (blue), with the missing and mismatched rows stacked on top (red)."""
    if not d.stages:
        return ""
    tallest = max([s.comparison.rows + s.missing + s.mismatched for s in d.stages] + [1])
    width = len(d.stages) * (BAR_W + GAP) + GAP
    parts = []
    for i, s in enumerate(d.stages):
        x = GAP + i * (BAR_W + GAP)
        problems = s.missing + s.mismatched
        rows_h = CHART_H * s.comparison.rows / tallest
        problem_h = max(CHART_H * problems / tallest, 4) if problems else 0
        parts.append(_bar(x, CHART_H - rows_h + 10, rows_h, ROWS_COLOUR, f"{s.stage}: {s.comparison.rows:,} rows"))
        if problem_h:
            top = CHART_H - rows_h - problem_h + 10
            parts.append(_bar(x, top, problem_h, PROBLEM_COLOUR, f"{problems:,} missing or mismatched"))
        parts.append(
            f"<text x='{x + BAR_W / 2}' y='{CHART_H + 26}' font-size='10' text-anchor='middle'>{escape(s.stage)}</text>"
        )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{CHART_H + 34}' role='img' "
        f"aria-label='rows per stage of {escape(d.dataset)}'>{''.join(parts)}</svg>"
    )


def _bar(x: float, y: float, height: float, colour: str, title: str) -> str:
    return (
        f"<rect x='{x}' y='{y:.1f}' width='{BAR_W}' height='{height:.1f}' fill='{colour}'>"
        f"<title>{escape(title)}</title></rect>"
    )
