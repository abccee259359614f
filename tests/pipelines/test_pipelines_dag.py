"""The batch DAG's integrity (parsed by Airflow's own DagBag, in a fresh process) and how it resolves its
targets: Variables over stack-output defaults (the seed had it backwards), the MongoDB URI from a connection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components.airflow.uri import connection_fields_from_uri
from pipelines.batch.airflow_settings import (
    AirflowSettingsError,
    ConnectionFields,
    mongo_uri,
    resolve_settings,
)
from pipelines.common import DAGS_DIR
from schemas import DATASETS

DAG_ID = "ingestion_pipeline_mongodb_s3"

# Runs in a child process: Airflow reads its configuration once, at import.
# I/O at parse time is recorded, not prevented: Airflow swallows a failing Variable lookup, so a broken DB alone
# would not show it.
INSPECT_DAGS = r"""
import json, socket, sys
import sqlalchemy
from sqlalchemy.engine import Engine

io_calls = []
_connect = socket.socket.connect
def _recording_connect(self, address):
    io_calls.append(f"socket connect {address}")
    return _connect(self, address)
socket.socket.connect = _recording_connect
sqlalchemy.event.listen(Engine, "do_connect", lambda *a, **k: io_calls.append("metadata DB connect"))

from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import BaseHook, Connection, Variable
from airflow.utils.dag_cycle_tester import check_cycle

# the Task SDK's lookups (what task code calls) and BaseHook's, which DAG code might call directly
_get_variable, _get_connection, _hook_connection = Variable.get, Connection.get, BaseHook.get_connection
def _recording_get_variable(key, *args, **kwargs):
    io_calls.append(f"Variable.get({key!r})")
    return _get_variable(key, *args, **kwargs)
def _recording_get_connection(conn_id):
    io_calls.append(f"Connection.get({conn_id!r})")
    return _get_connection(conn_id)
def _recording_hook_connection(conn_id):
    io_calls.append(f"BaseHook.get_connection({conn_id!r})")
    return _hook_connection(conn_id)
Variable.get = _recording_get_variable
Connection.get = _recording_get_connection
BaseHook.get_connection = _recording_hook_connection

bag = DagBag(dag_folder=sys.argv[1])  # examples are off: AIRFLOW__CORE__LOAD_EXAMPLES
out = {"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "io_calls": io_calls, "dags": {}}
for dag_id, dag in bag.dags.items():
    cycle = None
    try:
        check_cycle(dag)
    except Exception as exc:
        cycle = str(exc)
    out["dags"][dag_id] = {
        "file": dag.fileloc,
        "schedule": str(dag.schedule),
        "catchup": dag.catchup,
        "tags": sorted(dag.tags),
        "max_active_runs": dag.max_active_runs,
        "cycle": cycle,
        "tasks": {
            t.task_id: {
                "retries": t.retries,
                "upstream": sorted(t.upstream_task_ids),
                "trigger_rule": getattr(t.trigger_rule, "value", t.trigger_rule),  # an enum in Airflow 3
            }
            for t in dag.tasks
        },
    }
print("DAGS-JSON " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("airflow-home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        # a metadata DB that cannot be opened: parsing must not need it (no Variable.get at module level)
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/missing-dir/airflow.db",
        # and neither the network: any MongoDB or S3 call at parse time would fail on these
        "AIRFLOW_CONN_MONGO_DEFAULT": "mongodb://127.0.0.1:9/",
        "AIRFLOW_VAR_S3_LANDING": "parse-time-must-not-read-this",
    }
    proc = subprocess.run(
        [sys.executable, "-c", INSPECT_DAGS, str(DAGS_DIR)], env=env, capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("DAGS-JSON "))
    result: dict[str, Any] = json.loads(line.removeprefix("DAGS-JSON "))
    return result


def test_dags_import_without_errors_and_without_any_io(parsed: dict[str, Any]) -> None:
    assert parsed["import_errors"] == {}
    assert parsed["io_calls"] == [], "the scheduler parses DAG files often: no I/O at module level"
    assert DAG_ID in parsed["dags"]
    assert Path(parsed["dags"][DAG_ID]["file"]).name == "finance_mongo_s3.py"


def test_dag_keeps_the_seeds_schedule_without_catchup_and_has_no_cycles(parsed: dict[str, Any]) -> None:
    dag = parsed["dags"][DAG_ID]
    assert dag["schedule"] == "0 14 * * *"
    assert dag["catchup"] is False
    assert dag["max_active_runs"] == 1
    assert dag["cycle"] is None
    assert {"finance", "mongodb", "s3", "dlt"} <= set(dag["tags"])


def test_one_load_task_per_dataset_and_lake_every_load_retried_twice_then_reconcile(parsed: dict[str, Any]) -> None:
    tasks = parsed["dags"][DAG_ID]["tasks"]
    loads = sorted(f"load_{lake}_{d}" for lake in ("s3", "gcs") for d in DATASETS)
    assert set(tasks) == {*loads, "summary", "reconcile"}
    assert {t["retries"] for name, t in tasks.items() if name != "reconcile"} == {2}
    assert tasks["summary"]["upstream"] == loads
    # a failed load must fail the run: the summary does not run (and succeed) after a failure
    assert tasks["summary"]["trigger_rule"] == "none_failed"
    assert all(tasks[load]["upstream"] == [] for load in loads)
    # the verdict comes last and is not retried: waiting does not change it
    assert tasks["reconcile"]["upstream"] == ["summary"] and tasks["reconcile"]["retries"] == 0
    assert tasks["reconcile"]["trigger_rule"] == "all_success"


def test_the_loaders_dag_ends_with_reconcile_after_every_load(parsed: dict[str, Any]) -> None:
    tasks = parsed["dags"]["load_sources"]["tasks"]
    loads = sorted(f"{target}_{d}" for target in ("mongodb", "firestore", "dynamodb", "kafka") for d in DATASETS)
    assert set(tasks) == {*loads, "summary", "reconcile"}
    assert tasks["summary"]["upstream"] == loads
    assert tasks["reconcile"]["upstream"] == ["summary"] and tasks["reconcile"]["retries"] == 0


def test_the_transform_dag_follows_the_batch_asset_builds_once_then_checks_silver_and_gold(
    parsed: dict[str, Any],
) -> None:
    dag = parsed["dags"]["transform_finance_dbt"]
    assert "kde_finance_landing" in dag["schedule"]  # the Asset the batch DAG's reconcile task updates
    assert dag["max_active_runs"] == 1 and dag["cycle"] is None  # one writer to the warehouse
    tasks = dag["tasks"]
    assert set(tasks) == {"build", "reconcile", "gold_check"}
    assert tasks["reconcile"]["upstream"] == tasks["gold_check"]["upstream"] == ["build"]
    assert {t["retries"] for t in tasks.values()} == {0}  # a failed dbt test does not pass by waiting


OUTPUTS: dict[str, Any] = {
    "stack": "local",
    "aws_region": "us-east-1",
    "endpoints": {"s3": "http://127.0.0.1:15000"},
    "aws_credentials": {"access_key_id": "devstack", "secret_access_key": "devstack-secret"},
    "s3_buckets": {"landing": "kde-local-landing"},
    "mongodb_uri": "mongodb://root:p%40ss%2Fword@127.0.0.1:15030/?authSource=admin",
    "mongodb_database": "kde-db",
    "mongodb_collections": {"cards": "kde-finance-cards-data", "transactions": "kde-finance-transactions-data"},
}


def variables(outputs: dict[str, Any]) -> dict[str, str]:
    """The Variable the stack's Airflow settings write: the outputs without their secrets."""
    public = {k: v for k, v in outputs.items() if k not in ("aws_credentials", "mongodb_uri")}
    return {"stack_outputs": json.dumps(public, sort_keys=True)}


def mongo_connection(uri: str) -> dict[str, Any]:
    """The MongoDB connection as the stack declares it (components.airflow.uri parses the URI)."""
    fields = connection_fields_from_uri(uri)
    return {**{k: v for k, v in fields.items() if k != "extra"}, "extra_dejson": fields["extra"] or {}}


def connections(outputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    creds = outputs["aws_credentials"]
    aws = {
        "conn_type": "aws",
        "login": creds["access_key_id"],
        "password": creds["secret_access_key"],
        "extra_dejson": {"region_name": outputs["aws_region"], "endpoint_url": outputs["endpoints"]["s3"]},
    }
    return {"mongo_default": mongo_connection(outputs["mongodb_uri"]), "aws_default": aws}


def airflow_lookups(extra_variables: dict[str, str] | None = None, drop: tuple[str, ...] = ()) -> tuple[Any, Any]:
    """What the stack's Airflow settings hold, as the lookups the DAG uses."""
    vars_ = {**variables(OUTPUTS), **(extra_variables or {})}
    conns = {name: as_fields(fields) for name, fields in connections(OUTPUTS).items() if name not in drop}
    return vars_.get, conns.get


def as_fields(conn: dict[str, Any]) -> ConnectionFields:
    """An `airflow connections import` entry as the connection Airflow hands the DAG."""
    fields = {k: v for k, v in conn.items() if k != "extra_dejson"}
    return ConnectionFields(**fields, extra=conn.get("extra_dejson", {}))


def test_defaults_come_from_the_stack_outputs_secrets_from_connections() -> None:
    settings = resolve_settings(*airflow_lookups())
    assert settings.target.bucket == "kde-local-landing"
    assert settings.mongodb_database == "kde-db"
    assert dict(settings.collections) == OUTPUTS["mongodb_collections"]
    assert settings.mongodb_uri == OUTPUTS["mongodb_uri"]
    assert settings.target.endpoint_url == "http://127.0.0.1:15000"
    assert (settings.target.access_key_id, settings.target.secret_access_key) == ("devstack", "devstack-secret")


def test_the_variable_the_stack_writes_has_the_public_outputs_and_no_secret() -> None:
    """The `stack_outputs` Variable as the `local` stack declares it (its program under the mock runtime): the
    DAG resolves its targets from it, and none of the stack's secret outputs is in it."""
    from tests.unit._stack_runs import stack_run

    run = stack_run("local")
    (variable,) = [r for r in run.resources if r.inputs.get("key") == "stack_outputs"]
    text = variable.inputs["value"]
    assert not {"mongodb_uri", "aws_credentials", "kafka_connect_auth"} & set(json.loads(text))
    assert "mongodb://" not in text and "devstack-secret" not in text
    settings = resolve_settings(
        {"stack_outputs": text}.get, {"mongo_default": as_fields(connections(OUTPUTS)["mongo_default"])}.get
    )
    assert (settings.target.bucket, settings.mongodb_database) == ("kde-local-landing", "kde-db")


def test_variables_override_the_output_defaults() -> None:
    overrides = {"s3_landing": "s3://other-landing", "mongodb_database": "other-db", "s3_landing_prefix": "x/y"}
    settings = resolve_settings(*airflow_lookups(overrides))
    assert (settings.target.bucket, settings.mongodb_database, settings.target.prefix) == (
        "other-landing",
        "other-db",
        "x/y",
    )
    # the seed's Variable name is honoured too
    assert resolve_settings(*airflow_lookups({"s3.landing": "seed-landing"})).target.bucket == "seed-landing"


def test_missing_mongo_connection_or_bucket_is_a_clear_error() -> None:
    with pytest.raises(AirflowSettingsError, match="mongo_default"):
        resolve_settings(*airflow_lookups(drop=("mongo_default",)))
    with pytest.raises(AirflowSettingsError, match="s3_landing"):
        resolve_settings(lambda key: None, lambda conn_id: None)


def test_without_aws_connection_the_default_credential_chain_applies() -> None:
    settings = resolve_settings(*airflow_lookups(drop=("aws_default",)))
    assert settings.target.access_key_id is None and settings.target.secret_access_key is None
    assert settings.target.endpoint_url == "http://127.0.0.1:15000"  # still from the outputs


@pytest.mark.parametrize(
    "uri",
    [
        "mongodb://127.0.0.1:15030/",
        "mongodb://root:p%40ss%2Fword@127.0.0.1:15030/?authSource=admin",
        "mongodb://u:p@h:27017/kde-db?authSource=admin&tls=true",
        "mongodb+srv://u:p@cluster0.example.net/?retryWrites=true",
        "mongodb://a:1,b:2/?replicaSet=rs0",
    ],
)
def test_mongo_uri_survives_the_round_trip_through_an_airflow_connection(uri: str) -> None:
    rebuilt = mongo_uri(as_fields(mongo_connection(uri)))
    assert _normalized(rebuilt) == _normalized(uri)


def _normalized(uri: str) -> str:
    return uri if "?" in uri else uri.rstrip("/") + "/"
