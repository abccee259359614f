"""The transform DAG's tasks' bodies: the warehouse from the stack outputs (`warehouse`), the lake from the same
settings the batch DAG used (Variables over outputs), BigQuery's service-account key from the Airflow connection
the outputs name. Only called inside tasks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from pipelines.airflow_outputs import AirflowSettingsError, ConnectionFields


class TransformFailed(RuntimeError):
    """A model or a dbt test failed; the message names each failed node (a test's name holds model and column)."""


#: where Google's Airflow connection type keeps the key (the plain and the prefixed form of the extra)
KEYFILE_EXTRAS = ("keyfile_dict", "extra__google_cloud_platform__keyfile_dict")


def keyfile_of(conn_id: str, conn: ConnectionFields | None) -> dict[str, Any]:
    if conn is None:
        raise AirflowSettingsError(f"no Airflow connection {conn_id!r}: the stack creates it (`make up`)")
    for name in KEYFILE_EXTRAS:
        value = conn.extra.get(name)
        if value:
            return dict(json.loads(value) if isinstance(value, str) else value)
    raise AirflowSettingsError(f"Airflow connection {conn_id!r} carries no service-account key ({KEYFILE_EXTRAS[0]})")


def warehouse_keyfile(outputs: Mapping[str, Any]) -> dict[str, Any] | None:
    conn_id = (outputs.get("warehouse") or {}).get("airflow_connection")
    if not conn_id:
        return None
    from pipelines.airflow_outputs import task_lookups

    _, connection = task_lookups()
    return keyfile_of(conn_id, connection(conn_id))


def build_in_task() -> dict[str, Any]:
    """dbt build and docs, every node's line in the log; TransformFailed when a model or a test failed."""
    from pipelines.airflow_outputs import outputs_in_task
    from pipelines.batch.airflow_settings import settings_from_airflow
    from pipelines.transform.profiles import warehouse_of
    from pipelines.transform.run import build

    outputs = outputs_in_task()
    settings = settings_from_airflow()  # the lake the batch DAG wrote: DuckDB reads S3's, BigQuery GCS's
    lake = settings.target if warehouse_of(outputs)["kind"] == "duckdb" else settings.gcs_target
    result = build(outputs, target=lake, keyfile=warehouse_keyfile(outputs))
    for line in result.lines():
        print(line)
    for layer, seconds in result.seconds_by_layer().items():
        print(f"{layer:>14}: {seconds:.1f} s")
    print(f"dbt docs: {result.docs_page}")
    if not result.ok:
        skipped = f" ({len(result.skipped)} node(s) downstream skipped)" if result.skipped else ""
        raise TransformFailed("; ".join(f"{n.name} {n.status}: {n.message}" for n in result.failed) + skipped)
    return {
        "nodes": [asdict(n) for n in result.nodes],
        "seconds_by_layer": result.seconds_by_layer(),
        "docs_page": str(result.docs_page) if result.docs_page else None,
    }


#: the dbt test in the build that checks the same totals in the warehouse's own SQL (dbt/tests)
GOLD_TEST = "gold_month_totals_equal_silver"


def gold_check_in_task(built: Mapping[str, Any]) -> dict[str, Any]:
    """Each month's total in gold equals silver's; fails the task otherwise. DuckDB: read here, month by month;
    BigQuery (not read from here): the build's dbt test of the same totals."""
    from pipelines.airflow_outputs import outputs_in_task
    from pipelines.reconcile.stores.warehouse import gold_month_totals
    from pipelines.transform.profiles import warehouse_of

    outputs = outputs_in_task()
    if warehouse_of(outputs)["kind"] != "duckdb":
        return gold_test_of(built)
    check = gold_month_totals(outputs)
    print(check.line())
    if not check.ok:
        raise TransformFailed(check.line())
    return {"months": check.months, "ok": True}


def gold_test_of(built: Mapping[str, Any]) -> dict[str, Any]:
    nodes = [n for n in built.get("nodes") or [] if n.get("name") == GOLD_TEST]
    if not nodes or nodes[0].get("status") != "pass":
        state = nodes[0].get("status") if nodes else "not in the build"
        raise TransformFailed(f"gold check: dbt test {GOLD_TEST} {state}")
    print(f"gold check: dbt test {GOLD_TEST} passed in the build ({nodes[0].get('seconds', 0):.1f} s)")
    return {"months": None, "ok": True}
