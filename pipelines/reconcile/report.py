"""The result of a run: per dataset and stage, the counts and findings; thresholds that turn them into a
verdict (exit 0/1); the JSON report (stored in the lake by pipelines.reconcile.storage)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from pipelines.reconcile.compare import Finding, StageComparison


@dataclass(frozen=True)
class Limit:
    """`N` rows or `P%` of the reference's rows."""

    value: float
    percent: bool = False

    @classmethod
    def parse(cls, text: str) -> Limit:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", text)
        if not match or (not match.group(2) and "." in match.group(1)):
            raise ValueError(f"{text!r} is not a row count (e.g. 10) or a percentage (e.g. 0.5%)")
        return cls(float(match.group(1)), bool(match.group(2)))

    def allows(self, count: int, reference_rows: int) -> bool:
        return count <= (self.value / 100 * reference_rows if self.percent else self.value)

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.percent else f"{int(self.value)}"


@dataclass(frozen=True)
class Thresholds:
    max_missing: Limit = Limit(0)
    #: rows whose values differ, plus extra keys and duplicated keys: rows that should not be there as they are
    max_mismatched: Limit = Limit(0)


@dataclass
class StageReport:
    stage: str
    where: str
    complete: bool
    seconds: float = 0.0
    comparison: StageComparison = field(default_factory=StageComparison)
    coverage: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def missing(self) -> int:
        return self.comparison.missing.count

    @property
    def mismatched(self) -> int:
        c = self.comparison
        return c.mismatched.count + c.extra.count + c.duplicates.count + c.unreadable.count


@dataclass
class DatasetReport:
    dataset: str
    reference: str | None
    rejected: int = 0
    stages: list[StageReport] = field(default_factory=list)
    error: str | None = None

    @property
    def reference_rows(self) -> int:
        return next((s.comparison.rows for s in self.stages if s.stage == self.reference), 0)

    def failures(self, thresholds: Thresholds) -> list[str]:
        """One line per breach: which stage, what, how many, the first keys."""
        lines = [f"{self.dataset}: {self.error}"] if self.error else []
        for s in self.stages:
            if s.error:
                lines.append(f"{self.dataset} {s.stage}: {s.error}")
                continue
            if not thresholds.max_missing.allows(s.missing, self.reference_rows):
                keys = ", ".join(map(str, s.comparison.missing.first))
                lines.append(f"{self.dataset} {s.stage}: {s.missing:,} missing (max {thresholds.max_missing}): {keys}")
            if not thresholds.max_mismatched.allows(s.mismatched, self.reference_rows):
                lines.append(f"{self.dataset} {s.stage}: {s.mismatched:,} mismatched "
                             f"(max {thresholds.max_mismatched}): {describe(s.comparison)}")  # fmt: skip
        return lines


@dataclass
class RunReport:
    run_id: str
    stack: str
    started: str
    thresholds: Thresholds
    datasets: list[DatasetReport] = field(default_factory=list)
    seconds: float = 0.0
    stored: dict[str, str] = field(default_factory=dict)  # dataset -> s3:// URL of its stored report
    html: str | None = None  # the page on this machine
    page: str | None = None  # the same page in the lake (s3://…/reconciliation/<run id>.html)

    def failures(self) -> list[str]:
        return [line for d in self.datasets for line in d.failures(self.thresholds)]

    @property
    def ok(self) -> bool:
        return not self.failures()

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "stack": self.stack,
            "started": self.started,
            "seconds": round(self.seconds, 3),
            "thresholds": {
                "max_missing": str(self.thresholds.max_missing),
                "max_mismatched": str(self.thresholds.max_mismatched),
            },
            "ok": self.ok,
            "failures": self.failures(),
            "datasets": [dataset_json(d) for d in self.datasets],
            "stored": self.stored,
            "html": self.html,
            "page": self.page,
        }


def dataset_json(report: DatasetReport) -> dict[str, Any]:
    return {
        "dataset": report.dataset,
        "reference": report.reference,
        "reference_rows": report.reference_rows,
        "rejected": report.rejected,
        "error": report.error,
        "stages": [
            {
                "stage": s.stage,
                "where": s.where,
                "complete": s.complete,
                "seconds": round(s.seconds, 3),
                "error": s.error,
                "coverage": s.coverage,
                **asdict(s.comparison),
            }
            for s in report.stages
        ],
    }


def dataset_from_json(part: dict[str, Any]) -> DatasetReport:
    """The inverse of dataset_json: a dataset's part of a stored report, read back (e.g. a DAG run's)."""
    stages = [StageReport(s["stage"], s["where"], s["complete"], s["seconds"]) for s in part["stages"]]
    for stage, stored in zip(stages, part["stages"], strict=True):
        stage.comparison, stage.coverage, stage.error = (
            comparison_from_json(stored),
            stored["coverage"],
            stored["error"],
        )
    return DatasetReport(part["dataset"], part["reference"], part["rejected"], stages, part["error"])


def comparison_from_json(stage: dict[str, Any]) -> StageComparison:
    kinds = ("duplicates", "missing", "extra", "mismatched", "unreadable")
    findings = {kind: Finding(**stage[kind]) for kind in kinds if kind in stage}  # older reports: no unreadable
    return StageComparison(stage["rows"], stage["keys"], **findings, by_column=stage["by_column"],
                           segments_differing=stage["segments_differing"])  # fmt: skip


def describe(c: StageComparison) -> str:
    """The first findings of a stage in one line: keys with their differing columns, extra and duplicated keys."""
    parts = [f"key {m['key']} differs in {', '.join(m['columns'])}" for m in c.mismatched.first]
    parts += [f"extra key {k}" for k in c.extra.first]
    parts += [f"key {d['key']} {d['copies']} times" for d in c.duplicates.first]
    parts += [f"unreadable record at partition {u['partition']} offset {u['offset']} ({u['error']})"
              for u in c.unreadable.first]  # fmt: skip
    return "; ".join(parts)


def findings(c: StageComparison) -> str:
    """describe() with the first missing keys in front: what a table row shows."""
    missing = [f"missing key {k}" for k in c.missing.first]
    return "; ".join([*missing, describe(c)] if describe(c) else missing)


def note(d: DatasetReport, s: StageReport) -> str:
    """A stage's first findings; the source's row also says how many rows the converter quarantined."""
    text = s.error or findings(s.comparison)
    if s.stage == "source" and d.rejected:
        return "; ".join(filter(None, [f"{d.rejected:,} rejected at conversion (quarantined)", text]))
    return text
