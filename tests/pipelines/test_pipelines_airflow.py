"""The batch DAG run by Airflow itself (`airflow dags test`, devstack's metadata DB and DAGs folder): real rows
from FerretDB land in the moto bucket and the GCS emulator's and are read back; a second DAG run loads only the new
rows.

The connections and the `stack_outputs` Variable are the `devstack` stack's (the `platform` fixture runs `up`
on the real engine, as `make demo` does). The test's own database, bucket and prefix reach the DAG as Variables
(AIRFLOW_VAR_*), which must override the defaults from the stack outputs: the seed had that backwards."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _pipelines_records import card, delete_prefix, fresh_mongo_database, transaction, unique, with_mongo_id

from contract.clients import gcs_client, s3_client
from contract.lake_readers import read_gcs_table, read_table
from pipelines.batch.settings import settings_from_outputs
from pipelines.common import REPO_ROOT

pytestmark = pytest.mark.devstack

DAG_ID = "ingestion_pipeline_mongodb_s3"


@pytest.fixture(scope="module")
def outputs(platform: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return platform("ferretdb", "moto", "gcs", "airflow")


@pytest.fixture(scope="module")
def airflow_env(outputs: dict[str, Any]) -> dict[str, str]:
    """devstack Airflow's CLI environment (its metadata DB holds the stack's connections and Variable)."""
    import os

    from demo.airflow import DevstackAirflow

    service = DevstackAirflow().service
    service.ensure_db()
    return {**os.environ, **service.cli_env()}


@pytest.fixture
def mongo(outputs: dict[str, Any]) -> Iterator[Any]:
    with fresh_mongo_database(outputs, "test-dag") as db:
        yield db


@pytest.fixture
def bucket(outputs: dict[str, Any]) -> Iterator[str]:
    name = unique("test-dag-landing")
    s3 = s3_client(outputs)
    s3.create_bucket(Bucket=name)
    yield name
    delete_prefix(s3, name, "")
    s3.delete_bucket(Bucket=name)


@pytest.fixture
def gcs_bucket(outputs: dict[str, Any]) -> Iterator[str]:
    name = unique("test-dag-gcs-landing")
    created = gcs_client(outputs).create_bucket(name)
    yield name
    for blob in created.list_blobs():
        blob.delete()
    created.delete()


def dags_test(env: dict[str, str], variables: dict[str, str], dlt_dir: Path, succeeds: bool = True) -> str:
    """One DAG run through Airflow's own CLI; returns its log. The logical date is unique per run."""
    logical_date = dt.datetime.now(dt.UTC).isoformat()
    run_env = {**env, **{f"AIRFLOW_VAR_{k.upper()}": v for k, v in variables.items()}, "DLT_DATA_DIR": str(dlt_dir)}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "dags", "test", DAG_ID, logical_date],
        env=run_env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = proc.stdout + proc.stderr
    assert (proc.returncode == 0) == succeeds, log[-5000:]
    return log


def test_dag_run_loads_mongodb_into_both_lakes_then_only_new_rows(
    outputs: dict[str, Any], airflow_env: dict[str, str], mongo: Any, bucket: str, gcs_bucket: str, tmp_path: Path
) -> None:
    collections = outputs["mongodb_collections"]
    mongo[collections["transactions"]].insert_many([with_mongo_id(transaction(i)) for i in range(400)])
    mongo[collections["cards"]].insert_many([with_mongo_id(card(i)) for i in range(30)])
    prefix = unique("test-dag")
    variables = {
        "mongodb_database": mongo.name, "s3_landing": bucket, "gcs_landing": gcs_bucket, "s3_landing_prefix": prefix
    }  # fmt: skip

    log = dags_test(airflow_env, variables, tmp_path / "dlt")
    for place in (f"s3://{bucket}/", f"gs://{gcs_bucket}/"):  # one load per lake
        assert f"transactions: 400 rows in 1 file(s) -> {place}" in log

    settings = settings_from_outputs(outputs, bucket=bucket, prefix=prefix, database=mongo.name, gcs_bucket=gcs_bucket)
    s3 = s3_client(outputs)
    assert settings.gcs_target is not None

    def lake(table: str) -> list[dict[str, Any]]:
        rows = sorted(read_table(s3, settings.target, settings.dataset_name, table), key=lambda r: r["id"])
        assert settings.gcs_target is not None
        in_gcs = read_gcs_table(gcs_client(outputs), settings.gcs_target, settings.dataset_name, table)
        assert sorted(in_gcs, key=lambda r: r["id"]) == rows, f"{table}: the GCS lake differs from the S3 lake"
        return rows

    assert lake("transactions") == [transaction(i) for i in range(400)]
    assert lake("cards") == [card(i) for i in range(30)]
    # the Variables won: nothing went to the outputs' landing bucket under this prefix
    default_bucket = outputs["s3_buckets"]["landing"]
    assert s3.list_objects_v2(Bucket=default_bucket, Prefix=prefix).get("KeyCount", 0) == 0

    mongo[collections["transactions"]].insert_many([with_mongo_id(transaction(i)) for i in range(400, 450)])
    # a fresh dlt folder: as on another worker, the state comes back from the bucket
    log = dags_test(airflow_env, variables, tmp_path / "dlt-2")
    for place in (f"s3://{bucket}/", f"gs://{gcs_bucket}/"):
        assert f"transactions: 50 rows in 1 file(s) -> {place}" in log
    assert lake("transactions") == [transaction(i) for i in range(450)]
    assert lake("cards") == [card(i) for i in range(30)]
    # each run ended with the reconciliation of MongoDB and the lake, stored in the run's own landing bucket
    stored = s3.list_objects_v2(Bucket=bucket, Prefix="reconciliation/transactions/").get("Contents", [])
    assert len(stored) == 2
    report = json.loads(s3.get_object(Bucket=bucket, Key=stored[-1]["Key"])["Body"].read())
    assert report["ok"] and [(st["stage"], st["rows"]) for st in report["stages"]] == [
        ("mongodb", 450), ("lake-dlt", 450), ("lake-gcs", 450)
    ]  # fmt: skip


def test_the_dag_run_fails_when_the_lake_disagrees_with_mongodb(
    outputs: dict[str, Any], airflow_env: dict[str, str], mongo: Any, bucket: str, gcs_bucket: str, tmp_path: Path
) -> None:
    collections = outputs["mongodb_collections"]
    mongo[collections["transactions"]].insert_many([with_mongo_id(transaction(i)) for i in range(100)])
    variables = {
        "mongodb_database": mongo.name, "s3_landing": bucket, "gcs_landing": gcs_bucket,
        "s3_landing_prefix": unique("test-dag"),
    }  # fmt: skip
    dags_test(airflow_env, variables, tmp_path / "dlt")
    # the incremental load takes only new ids: an amount changed at the source never reaches the lake
    victim = transaction(7)
    mongo[collections["transactions"]].update_one({"_id": str(victim["id"])}, {"$set": {"amount": 0.01}})

    log = dags_test(airflow_env, variables, tmp_path / "dlt-2", succeeds=False)

    for lake in ("lake-dlt", "lake-gcs"):
        assert f"transactions {lake}: 1 mismatched (max 0): key {victim['id']} differs in amount" in log


def test_airflow_config_wrote_connections_and_the_outputs_variable(airflow_env: dict[str, str]) -> None:
    airflow = str(Path(sys.executable).parent / "airflow")
    env = {k: v for k, v in airflow_env.items() if not k.startswith(("AIRFLOW_VAR_", "AIRFLOW_CONN_"))}
    got = subprocess.run(
        [airflow, "connections", "get", "mongo_default", "-o", "json"], env=env, capture_output=True, text=True
    )
    assert got.returncode == 0, got.stderr
    (conn,) = json.loads(got.stdout[got.stdout.index("[") :])
    assert (conn["conn_type"], conn["host"]) == ("mongo", "127.0.0.1")
    var = subprocess.run([airflow, "variables", "get", "stack_outputs"], env=env, capture_output=True, text=True)
    assert var.returncode == 0, var.stderr
    stored = json.loads(var.stdout[var.stdout.index("{") :])
    assert stored["mongodb_collections"]["transactions"] == "kde-finance-transactions-data"
    assert "mongodb_uri" not in stored and "aws_credentials" not in stored  # secrets live in connections only
