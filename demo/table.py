"""The demo's closing table: per dataset and sink, rows at source, in the sink, in the lake, rejected."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas import DATASETS

SINKS = ("mongodb", "firestore", "dynamodb", "kafka")


@dataclass
class Cell:
    """One dataset in one sink."""

    source: int | None = None  # rows the converter read
    loaded: int | None = None  # rows in the sink after this run's load
    lake: int | None = None  # rows of this sample in the S3 lake via this sink (None: no pipeline from it)
    lake_expected: int | None = None  # what the lake must hold of this sample (the rows loaded)
    rejected: int = 0
    note: str = ""

    @property
    def ok(self) -> bool:
        if self.source is None or self.loaded is None:
            return False
        if self.loaded + self.rejected != self.source:
            return False
        return self.lake is None or self.lake == self.lake_expected


@dataclass
class DemoResult:
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    timings: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def cell(self, dataset: str, sink: str) -> Cell:
        return self.cells.setdefault((dataset, sink), Cell())

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.cells) and all(c.ok for c in self.cells.values())


def render(result: DemoResult) -> Any:
    from rich.table import Table

    table = Table(title="Reconciliation", show_lines=False)
    for name, justify in (
        ("dataset", "left"),
        ("sink", "left"),
        ("at source", "right"),
        ("loaded", "right"),
        ("in the lake", "right"),
        ("rejected", "right"),
        ("", "left"),
        ("note", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for dataset in DATASETS:
        for sink in SINKS:
            cell = result.cells.get((dataset, sink))
            if cell is None:
                continue
            table.add_row(
                dataset,
                sink,
                _n(cell.source),
                _n(cell.loaded),
                "—" if cell.lake is None else _n(cell.lake),
                _n(cell.rejected),
                "[green]ok[/]" if cell.ok else "[red]MISSING[/]",
                cell.note,
            )
    return table


def _n(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"
