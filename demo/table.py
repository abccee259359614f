"""The demo's result: its steps' timings and errors, and the closing reconciliation (pipelines.reconcile, the
same run as `python -m pipelines reconcile`), shown as that command's table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipelines.reconcile.report import RunReport


@dataclass
class DemoResult:
    timings: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    report: RunReport | None = None
    #: the closing answer from gold and the dbt docs page (demo.gold), printed last
    gold: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and self.report is not None and self.report.ok


def render(result: DemoResult) -> Any:
    from rich.text import Text

    from pipelines.reconcile.cli import table

    if result.report is None:
        return Text("no reconciliation: an earlier step failed", style="red")
    return table(result.report)
