"""One reconciliation per run of the main job. The DAGs' reconcile tasks compare what they moved and store their
reports in the lake; a closing check (the demo's) reads those reports back, reconciles only the stages no DAG
covered, and shows the whole as one run: every store is read once per run, not once per check."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from contract.outputs import StackOutputs
from pipelines.reconcile.plan import STAGES, Scope, stores_for
from pipelines.reconcile.report import DatasetReport, RunReport, StageReport, dataset_from_json

#: (dataset, stage) pairs a stored report already compared
Covered = frozenset[tuple[str, str]]


def read_stored(urls: Mapping[str, str], s3: Any) -> list[DatasetReport]:
    """The dataset parts of a stored run (`RunReport.stored`: dataset -> s3:// URL), each stage's coverage naming
    the run that compared it."""
    parts = []
    for url in urls.values():
        bucket, _, key = url.removeprefix("s3://").partition("/")
        body = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        part = dataset_from_json(body)
        for stage in part.stages:
            stage.coverage = {**stage.coverage, "reconciled_by": body["run_id"]}
        parts.append(part)
    return parts


def compared_stages(part: DatasetReport) -> list[StageReport]:
    """The stages a stored part compared: a reference that is not the source only compared with itself."""
    return [s for s in part.stages if s.stage != part.reference or s.stage == "source"]


def covered(parts: Iterable[DatasetReport]) -> Covered:
    return frozenset((p.dataset, s.stage) for p in parts for s in compared_stages(p) if s.stage != "source")


def uncovered_scope(scope: Scope, done: Covered) -> Scope:
    """`scope` without the stages the stored reports covered (the source stays: it is the reference)."""
    return replace(scope, exclude=scope.exclude | done)


def datasets_left(datasets: Sequence[str], outputs: StackOutputs, scope: Scope) -> list[str]:
    """The datasets for which `scope` still has a stage to compare beyond the reference."""
    return [d for d in datasets if len(stores_for(d, outputs, scope, s3=None)) > 1]


def combine(run: RunReport, earlier: Sequence[DatasetReport]) -> RunReport:
    """`run` with the earlier reports' stages added in, per dataset in the usual stage order; where both have a
    stage (the source) the earlier one stays, as the reference its other stages were compared with."""
    merged: dict[str, DatasetReport] = {}
    for part in [*earlier, *run.datasets]:
        into = merged.setdefault(part.dataset, DatasetReport(part.dataset, part.reference, part.rejected))
        into.rejected = into.rejected or part.rejected
        into.error = into.error or part.error
        have = {s.stage for s in into.stages}
        into.stages += [s for s in compared_stages(part) if s.stage not in have]
    for part in merged.values():
        part.stages.sort(key=lambda s: STAGES.index(s.stage) if s.stage in STAGES else len(STAGES))
        present = [s.stage for s in part.stages]
        if "source" in present or part.reference not in present:
            part.reference = "source" if "source" in present else next(iter(present), None)
    return replace(run, datasets=list(merged.values()), stored={})
