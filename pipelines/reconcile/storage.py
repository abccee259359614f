"""Where a run is kept: `s3://<landing>/reconciliation/<dataset>/<run id>.json`, one per dataset (the run's
header and that dataset's part, naming the dlt load ids and the Kafka offsets it covered), and the run's HTML
page beside them, `reconciliation/<run id>.html`."""

from __future__ import annotations

import json
from typing import Any

from contract.outputs import StackOutputs
from pipelines.reconcile.html import render
from pipelines.reconcile.report import RunReport

LAKE_PREFIX = "reconciliation"


def store_in_lake(report: RunReport, outputs: StackOutputs, s3: Any) -> None:
    """Each dataset's report and the run's page into the landing bucket; their URLs into `report`."""
    bucket = outputs["s3_buckets"]["landing"]
    page = f"{LAKE_PREFIX}/{report.run_id}.html"
    report.page = f"s3://{bucket}/{page}"
    whole = report.to_json()
    header = {k: v for k, v in whole.items() if k not in ("datasets", "stored", "failures")}
    for dataset, part in zip(report.datasets, whole["datasets"], strict=True):
        key = f"{LAKE_PREFIX}/{dataset.dataset}/{report.run_id}.json"
        body = {**header, "ok": not dataset.failures(report.thresholds),
                "failures": dataset.failures(report.thresholds), **part}  # fmt: skip
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body, indent=1).encode(), ContentType="application/json")
        report.stored[dataset.dataset] = f"s3://{bucket}/{key}"
    s3.put_object(Bucket=bucket, Key=page, Body=render(report).encode(), ContentType="text/html; charset=utf-8")
