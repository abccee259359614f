"""The seed's DAG `ingestion_pipeline_mongodb_s3`: finance data from MongoDB to the S3 and GCS landing buckets with
dlt (the seed's GCS twin folded in: one DAG, one schedule, one reconciliation of both lakes).

One TaskFlow task per dataset and lake (`load_s3_<dataset>`, `load_gcs_<dataset>`) runs the same code as
`python -m pipelines batch` (pipelines.batch.run), each its own dlt pipeline with its own incremental state, so
they run in parallel, a bad collection or an unreachable lake fails alone (and is retried twice) and a retry
reloads nothing the other lake already has. A stack without a GCS landing bucket skips the GCS loads.
The last task reconciles MongoDB with both lakes (pipelines.reconcile), fails the run beyond the thresholds
(params `max_missing`, `max_mismatched`), and otherwise updates the asset the transform DAG is scheduled on.
Targets: Variables override the defaults derived from the stack outputs, the MongoDB URI comes from the
connection `mongo_default` (see pipelines/batch/airflow_settings.py), all created by the stack.

Written against Airflow 3's Task SDK (`airflow.sdk`), the DAG authors' interface. Nothing at module level
touches the network, the metadata database or dlt: the dag-processor parses this file often; Variables,
Connections and dlt are read inside the tasks only (through the execution API).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

from pipelines.batch.settings import LAKES
from pipelines.transform.assets import LANDED
from schemas import DATASETS

DAG_ID = "ingestion_pipeline_mongodb_s3"


@dag(
    dag_id=DAG_ID,
    description="MongoDB finance collections -> S3 and GCS landing buckets (dlt, incremental on transactions.id)",
    schedule="0 14 * * *",  # the seed's daily 14:00 UTC
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # two runs of the same incremental pipeline must not overlap
    default_args={"owner": "data-platform", "retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["finance", "mongodb", "s3", "gcs", "dlt", "ingestion"],
    params={
        "file_format": Param("parquet", enum=["parquet", "jsonl"], description="lake file format"),
        "max_missing": Param("0", type="string", description="reconcile: missing rows allowed per stage (N or P%)"),
        "max_mismatched": Param("0", type="string", description="reconcile: differing rows allowed (N or P%)"),
    },
    doc_md=__doc__,
)
def ingestion_pipeline_mongodb_s3() -> None:
    @task
    def load(dataset: str, lake: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Extract one dataset's collection and load it into one lake's landing bucket."""
        from dataclasses import asdict

        from airflow.sdk.exceptions import AirflowSkipException

        from pipelines.batch.airflow_settings import settings_from_airflow
        from pipelines.batch.run import run_dataset

        settings = settings_from_airflow()
        if dataset not in settings.collections:
            raise AirflowSkipException(f"{dataset}: no MongoDB collection in the stack outputs")
        if lake not in settings.lakes:
            raise AirflowSkipException(f"{lake}: no landing bucket in the stack outputs")
        file_format = (params or {}).get("file_format", "parquet")
        result = run_dataset(settings, dataset, file_format=file_format, lake=lake)
        print(f"{dataset}: {result.rows} rows in {result.files} file(s) -> {result.location} ({result.seconds:.1f}s)")
        return asdict(result)

    # none_failed: runs when every load succeeded or was skipped, so a failed load fails the DAG run
    @task(trigger_rule="none_failed")
    def summary(loads: list[dict[str, Any] | None]) -> dict[str, dict[str, int]]:
        """Rows loaded per lake and dataset in this run (XCom), for the log and for whoever checks the run."""
        rows: dict[str, dict[str, int]] = {}
        for item in filter(None, loads):
            rows.setdefault(item["lake"], {})[item["dataset"]] = int(item["rows"])
            print(f"{item['lake']:>4} {item['dataset']:>14}: {int(item['rows']):,} rows")
        return rows

    @task(retries=0, outlets=[LANDED])
    def reconcile(loaded: dict[str, dict[str, int]], params: dict[str, Any] | None = None) -> dict[str, Any]:
        """MongoDB against both lakes, row for row and value for value; fails the run beyond the thresholds."""
        from pipelines.airflow_outputs import outputs_in_task
        from pipelines.batch.airflow_settings import settings_from_airflow
        from pipelines.reconcile.airflow_task import reconcile_in_task
        from pipelines.reconcile.plan import Scope

        settings = settings_from_airflow()
        outputs = outputs_in_task().copy()
        # the Variables that moved this run's source and lake move the reconciliation (and its stored report)
        outputs["mongodb_database"] = settings.mongodb_database
        outputs["mongodb_collections"] = dict(settings.collections)
        outputs["s3_buckets"] = {**outputs["s3_buckets"], "landing": settings.target.bucket}
        if settings.gcs_target:
            outputs["gcs_buckets"] = {**(outputs.get("gcs_buckets") or {}), "landing": settings.gcs_target.bucket}
        scope = Scope(
            stages=("mongodb", "lake-dlt", "lake-gcs"), dlt_target=settings.target, gcs_target=settings.gcs_target
        )
        return reconcile_in_task(outputs, [d for d in DATASETS if d in settings.collections], scope, params)

    loads = [load.override(task_id=f"load_{lake}_{dataset}")(dataset, lake) for lake in LAKES for dataset in DATASETS]
    reconcile(summary(loads))  # type: ignore[arg-type]  # TaskFlow resolves the XComArgs to their values at run time


ingestion_pipeline_mongodb_s3()
