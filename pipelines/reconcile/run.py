"""A reconciliation run: for each dataset, one streaming pass over each of its stores into the digests, then
every stage compared with the reference; the report stored in the lake, and the HTML page written."""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contract.clients import s3_client
from contract.outputs import StackOutputs
from pipelines.reconcile.compare import Finding, compare
from pipelines.reconcile.digest import Digests
from pipelines.reconcile.plan import Scope, stores_for
from pipelines.reconcile.report import DatasetReport, RunReport, StageReport, Thresholds
from pipelines.reconcile.storage import store_in_lake
from pipelines.reconcile.stores import Store, StoreError
from pipelines.reconcile.stores.files import rejected_count
from schemas import load as load_schema

#: (dataset, stage, rows so far), called every batch while a store is read
Progress = Callable[[str, str, int], None]


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def reconcile(
    outputs: StackOutputs,
    datasets: Sequence[str],
    scope: Scope | None = None,
    thresholds: Thresholds | None = None,
    *,
    progress: Progress | None = None,
    store: bool = True,
) -> RunReport:
    scope, thresholds = scope or Scope(), thresholds or Thresholds()
    started = time.monotonic()
    report = RunReport(new_run_id(), str(outputs.get("stack", "?")), datetime.now(UTC).isoformat(), thresholds)
    s3 = s3_client(outputs)
    with tempfile.TemporaryDirectory(prefix="reconcile-") as folder:
        for dataset in datasets:
            report.datasets.append(reconcile_dataset(dataset, outputs, scope, s3, Path(folder), progress))
    report.seconds = time.monotonic() - started
    if store:
        store_in_lake(report, outputs, s3)
    return report


def reconcile_dataset(
    dataset: str, outputs: StackOutputs, scope: Scope, s3: Any, folder: Path, progress: Progress | None
) -> DatasetReport:
    stores = stores_for(dataset, outputs, scope, s3)
    result = DatasetReport(dataset, reference=stores[0].stage if stores else None)
    if scope.source_dir is not None:
        result.rejected = rejected_count(scope.source_dir, dataset)
    if not stores:
        result.error = "no store holds this dataset on this stack (and no source file)"
        return result
    digests = Digests(load_schema(dataset), folder)
    try:
        # side by side: most of a store's time is its server's (an emulator process) or the network, not ours
        with ThreadPoolExecutor(len(stores), thread_name_prefix=f"reconcile-{dataset}") as readers:
            result.stages = list(readers.map(lambda s: _read(digests, dataset, s, progress), stores))
        if result.stages[0].error:
            result.error = f"the reference {result.reference} could not be read, nothing to compare with"
            return result
        for stage in result.stages:
            if not stage.error:
                stage.comparison = compare(digests, stage.stage, result.reference or "", stage.complete)
                stage.comparison.unreadable = Finding(**stage.coverage.get("unreadable", {}))
    finally:
        digests.close()
    return result


def _read(digests: Digests, dataset: str, store: Store, progress: Progress | None) -> StageReport:
    stage = StageReport(store.stage, store.where, store.complete)
    started = time.monotonic()
    tick = (lambda n: progress(dataset, store.stage, n)) if progress else None
    try:
        digests.add(store.stage, store.records(), tick)
    except StoreError as exc:
        stage.error = str(exc)
        digests.drop(store.stage)
    stage.seconds = time.monotonic() - started
    stage.coverage = store.coverage
    return stage
