"""The reconcile task at the end of the DAGs: the same run as the command, its table in the task log, the
HTML page beside the report, and a task failure (not retried: a verdict does not change by waiting) when a
stage is beyond the run's thresholds (DAG params `max_missing`, `max_mismatched`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contract.outputs import StackOutputs
from pipelines.reconcile.plan import Scope
from pipelines.reconcile.report import Limit, Thresholds


class ReconciliationFailed(RuntimeError):
    """A stage is beyond the thresholds; the message lists each breach with its first keys."""


def thresholds_from_params(params: Mapping[str, Any] | None) -> Thresholds:
    params = params or {}
    return Thresholds(
        Limit.parse(str(params.get("max_missing") or "0")), Limit.parse(str(params.get("max_mismatched") or "0"))
    )


def reconcile_in_task(
    outputs: StackOutputs, datasets: Sequence[str], scope: Scope, params: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Run, log, store; raise ReconciliationFailed beyond the thresholds; else the summary for XCom."""
    from rich.console import Console

    from pipelines.reconcile.cli import table, write_html
    from pipelines.reconcile.run import reconcile

    report = reconcile(outputs, datasets, scope, thresholds_from_params(params))
    write_html(report, None)
    console = Console(width=180, force_terminal=False)
    console.print(table(report))
    for dataset, url in report.stored.items():
        print(f"{dataset}: report stored at {url}")
    print(f"HTML report: {report.html}")
    if not report.ok:
        raise ReconciliationFailed("; ".join(report.failures()))
    return {"run_id": report.run_id, "ok": True, "stored": report.stored, "html": report.html}
