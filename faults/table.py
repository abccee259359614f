"""The suite's report: one line per trial as it ends, then a table per case."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from faults.trial import Trial


def trial_line(trial: Trial) -> str:
    t = trial.tally
    verdict = "[green]ok[/]" if trial.ok else "[red]FAIL[/]"
    problem = f" [red]{trial.failure}[/]" if trial.failure else ""
    return (
        f"{verdict} {trial.case} #{trial.trial}: source {t.source:,}, in target {t.in_target:,}, "
        f"duplicates {t.duplicates:,}, lost {t.lost:,} ({trial.note}){problem}"
    )


def print_summary(console: Any, results: list[Trial]) -> None:
    from rich.table import Table

    table = Table(title="fault suite: per case, summed over its trials")
    for column in ("case", "trials", "exact", "records at source", "in target", "duplicates", "lost"):
        table.add_column(column, justify="left" if column == "case" else "right")
    for case, group in groupby(results, key=lambda t: t.case):
        trials = list(group)
        table.add_row(
            case,
            str(len(trials)),
            f"{sum(t.ok for t in trials)}/{len(trials)}",
            f"{sum(t.tally.source for t in trials):,}",
            f"{sum(t.tally.in_target for t in trials):,}",
            f"{sum(t.tally.duplicates for t in trials):,}",
            f"{sum(t.tally.lost for t in trials):,}",
        )
    console.print(table)
