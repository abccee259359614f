"""DAG `load_sources`: the loaders deployed with the stack. The converted JSON lines of every dataset go into
every sink the stack has a place for (MongoDB, Firestore, DynamoDB, Kafka), one task per dataset and sink, each
the same code as `python -m loaders load` (loaders.load.load_dataset): writes by key, so a retried or re-run
task overwrites and never duplicates; rejected records are quarantined next to the source
(`<source_dir>/_rejected/`) and fail the task. The last task reconciles the source files with every sink it
loaded (pipelines.reconcile) and fails the run beyond the thresholds (params `max_missing`, `max_mismatched`).

Targets come only from the Airflow settings the stack creates (the Variable `stack_outputs` and the
connections `mongo_default`, `aws_default`: pipelines/airflow_outputs.py). The source folder is the run's
parameter `source_dir` (the converter's output, `python -m loaders convert RAW OUT`); a dataset without a file
there is skipped. The datasets the S3 sink streams to the lake (`s3_sink.topics`, the seed's cards-data) are
left to the stream (`python -m loaders load -d kafka --mode streaming`, the demo's streaming step), so the lake
gets them once.

Written against Airflow 3's Task SDK. Nothing at module level touches the network or reads a file.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import Param, dag, task

from schemas import DATASETS

if TYPE_CHECKING:
    from contract.outputs import StackOutputs

DAG_ID = "load_sources"
TARGETS = ("mongodb", "firestore", "dynamodb", "kafka")


@dag(
    dag_id=DAG_ID,
    description="converted JSON lines -> MongoDB, Firestore, DynamoDB, Kafka (the loaders, by key)",
    schedule=None,  # run on demand, after new files are converted
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-platform", "retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["finance", "loaders", "mongodb", "firestore", "dynamodb", "kafka"],
    params={
        "source_dir": Param(
            "", type="string", description="folder of converted <dataset>.jsonl files (`python -m loaders convert`)"
        ),
        "max_missing": Param("0", type="string", description="reconcile: missing rows allowed per stage (N or P%)"),
        "max_mismatched": Param("0", type="string", description="reconcile: differing rows allowed (N or P%)"),
    },
    doc_md=__doc__,
)
def load_sources() -> None:
    @task
    def load(target: str, dataset: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Load one dataset's converted file into one sink; fail (and retry) if a record could not be written."""
        from airflow.sdk.exceptions import AirflowSkipException

        from loaders.load import load_dataset
        from pipelines.airflow_outputs import outputs_in_task

        source = str((params or {}).get("source_dir") or "")
        if not source:
            raise ValueError('no source folder: trigger the DAG with conf {"source_dir": "/path/to/converted"}')
        outputs = outputs_in_task()
        reason = skip_reason(outputs, target, dataset, Path(source))
        if reason:
            raise AirflowSkipException(reason)
        report = load_dataset(target, dataset, outputs, Path(source), progress=False, count=False)
        print(f"{target} {dataset}: read {report.read:,}, written {report.written:,}, failed {report.failed:,}")
        if report.failed:
            raise RuntimeError(f"{target} {dataset}: {report.failed:,} record(s) failed, see {report.quarantine}")
        loaded = report.written + report.skipped  # skipped: delivered by an earlier run (Kafka's checkpoint)
        return {"target": target, "dataset": dataset, "read": report.read, "loaded": loaded}

    # none_failed: runs when every load succeeded or was skipped, so a failed load fails the DAG run
    @task(trigger_rule="none_failed")
    def summary(loads: list[dict[str, Any] | None]) -> dict[str, int]:
        """Records in place per `target.dataset` after this run (XCom), for the log and for whoever checks it."""
        loaded = {f"{item['target']}.{item['dataset']}": int(item["loaded"]) for item in loads if item}
        for name, count in sorted(loaded.items()):
            print(f"{name:>26}: {count:,}")
        return loaded

    @task(retries=0)
    def reconcile(loaded: dict[str, int], params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The source files against every sink this DAG loaded, by key and value; fails beyond the thresholds."""
        from pipelines.airflow_outputs import outputs_in_task
        from pipelines.reconcile.airflow_task import reconcile_in_task
        from pipelines.reconcile.plan import Scope

        source = Path(str((params or {}).get("source_dir") or ""))
        outputs = outputs_in_task()
        datasets = [d for d in DATASETS if (source / f"{d}.jsonl").exists()]
        left_out = frozenset((d, t) for d in datasets for t in TARGETS if skip_reason(outputs, t, d, source))
        scope = Scope(source_dir=source, stages=("source", *TARGETS), exclude=left_out)
        return reconcile_in_task(outputs, datasets, scope, params)

    loads = [
        load.override(task_id=f"{target}_{dataset}")(target, dataset) for target in TARGETS for dataset in DATASETS
    ]
    reconcile(summary(loads))  # type: ignore[arg-type]  # TaskFlow resolves the XComArgs to their values at run time


def skip_reason(outputs: StackOutputs, target: str, dataset: str, source_dir: Path) -> str | None:
    """Why (target, dataset) is not loaded in this run, or None: no file, no place in the stack, or streamed."""
    if not (source_dir / f"{dataset}.jsonl").exists():
        return f"no {dataset}.jsonl in {source_dir}"
    places = {
        "mongodb": outputs["mongodb_collections"],
        "firestore": outputs["firestore_collections"],
        "dynamodb": outputs["dynamodb_tables"],
        "kafka": outputs["kafka_topics"],
    }[target]
    if dataset not in places:
        return f"the stack has no {target} place for {dataset}"
    if target == "kafka" and places[dataset] in outputs["s3_sink"]["topics"]:
        return f"{places[dataset]} is streamed to the lake by the producer: loaders load --mode streaming"
    return None


load_sources()
