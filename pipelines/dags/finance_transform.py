"""The DAG `transform_finance_dbt`: silver and gold with dbt, run whenever the batch DAG has landed and
reconciled the MongoDB datasets in the lake (it is scheduled on the Asset the batch DAG emits,
pipelines/transform/assets.py).

1. `build`: `dbt build` of the project in pipelines/transform/dbt (silver, then gold, each model followed by its
   tests) into the warehouse the stack outputs name (`warehouse`: DuckDB on devstack, BigQuery on dev and prod,
   with the service-account key from the Airflow connection the outputs name), then `dbt docs generate`; one log
   line per model and test, and the task fails naming every failed node;
2. `reconcile`: the stage `silver` (every landing key in silver, value for value) against the lake, stored like
   the batch DAG's report (DuckDB; on BigQuery the build's dbt test `silver_keys_match_landing` checks the keys);
3. `gold_check`: each month's total in gold equals silver's (DuckDB: read by the task; BigQuery: the build's dbt
   test `gold_month_totals_equal_silver`, the same sums in BigQuery's SQL).

One task runs the whole build rather than one task per model (Cosmos): the DuckDB file takes one writer at a
time, and each dbt start costs seconds of parsing that a dozen tasks would pay a dozen times.
Nothing at module level reads a Variable, a Connection, the lake or the warehouse.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

from pipelines.transform.assets import LANDED
from schemas import DATASETS

DAG_ID = "transform_finance_dbt"


@dag(
    dag_id=DAG_ID,
    description="the lake's landing parquet -> silver and gold (dbt, tests, docs)",
    schedule=[LANDED],
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # one writer to the warehouse
    default_args={"owner": "data-platform", "retries": 1, "retry_delay": timedelta(minutes=2)},
    tags=["finance", "dbt", "silver", "gold", "warehouse"],
    params={
        "max_missing": Param("0", type="string", description="reconcile: missing rows allowed per stage (N or P%)"),
        "max_mismatched": Param("0", type="string", description="reconcile: differing rows allowed (N or P%)"),
    },
    doc_md=__doc__,
)
def transform_finance_dbt() -> None:
    @task(retries=0)
    def build() -> dict[str, Any]:
        """dbt build (models and tests) and dbt docs; fails naming each failed model or test."""
        from pipelines.transform.airflow_task import build_in_task

        return build_in_task()

    @task(retries=0)
    def reconcile(built: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The lake against silver, key for key and value for value."""
        from pipelines.airflow_outputs import outputs_in_task
        from pipelines.batch.airflow_settings import settings_from_airflow
        from pipelines.reconcile.airflow_task import reconcile_in_task
        from pipelines.reconcile.plan import Scope

        settings = settings_from_airflow()
        outputs = outputs_in_task().copy()
        outputs["s3_buckets"] = {**outputs["s3_buckets"], "landing": settings.target.bucket}
        scope = Scope(stages=("lake-dlt", "silver"), dlt_target=settings.target)
        return reconcile_in_task(outputs, [d for d in DATASETS if d in settings.collections], scope, params)

    @task(retries=0)
    def gold_check(built: dict[str, Any]) -> dict[str, Any]:
        """Each month's total in gold equals silver's."""
        from pipelines.transform.airflow_task import gold_check_in_task

        return gold_check_in_task(built)

    built = build()
    reconcile(built)  # type: ignore[arg-type]  # TaskFlow resolves the XComArg at run time
    gold_check(built)  # type: ignore[arg-type]


transform_finance_dbt()
