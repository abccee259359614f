"""The batch pipeline into both lakes against real servers: documents in FerretDB land in moto's S3 and in
devstack's GCS emulator (fake-gcs-server) through dlt, each lake with its own incremental state; read back from
the buckets independently of dlt; and the reconciliation's `lake-gcs` stage finds a row the GCS lake lost.

Each test uses its own MongoDB database and its own prefix in both landing buckets."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _pipelines_records import card, delete_prefix, fresh_mongo_database, transaction, unique, with_mongo_id

from contract.clients import gcs_client, s3_client
from contract.lake_readers import gcs_table_blobs, read_gcs_table, read_table
from pipelines.airflow_outputs import ConnectionFields
from pipelines.batch.airflow_settings import resolve_settings
from pipelines.batch.run import run_batch, run_dataset
from pipelines.batch.settings import BatchSettings, settings_from_outputs
from pipelines.reconcile.plan import Scope
from pipelines.reconcile.run import reconcile

pytestmark = pytest.mark.devstack


@pytest.fixture(scope="module")
def outputs(platform: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return platform("ferretdb", "moto", "gcs")


@pytest.fixture
def mongo(outputs: dict[str, Any]) -> Iterator[Any]:
    with fresh_mongo_database(outputs, "test-batch-gcs") as db:
        yield db


@pytest.fixture
def settings(outputs: dict[str, Any], mongo: Any) -> Iterator[BatchSettings]:
    settings = settings_from_outputs(outputs, database=mongo.name, prefix=unique("test-batch-gcs"))
    yield settings
    delete_prefix(s3_client(outputs), settings.target.bucket, settings.target.prefix + "/")
    assert settings.gcs_target is not None
    gcs = gcs_client(outputs)
    for blob in gcs.list_blobs(settings.gcs_target.bucket, prefix=settings.gcs_target.prefix + "/"):
        blob.delete()


def insert(mongo: Any, outputs: dict[str, Any], dataset: str, records: list[dict[str, Any]]) -> None:
    mongo[outputs["mongodb_collections"][dataset]].insert_many([with_mongo_id(r) for r in records])


def gcs_lake(outputs: dict[str, Any], settings: BatchSettings, table: str) -> list[dict[str, Any]]:
    assert settings.gcs_target is not None
    rows = read_gcs_table(gcs_client(outputs), settings.gcs_target, settings.dataset_name, table)
    return sorted(rows, key=lambda r: r["id"])


def s3_lake(outputs: dict[str, Any], settings: BatchSettings, table: str) -> list[dict[str, Any]]:
    return sorted(read_table(s3_client(outputs), settings.target, settings.dataset_name, table), key=lambda r: r["id"])


def test_a_run_lands_every_dataset_in_both_lakes_field_for_field(
    outputs: dict[str, Any], mongo: Any, settings: BatchSettings, tmp_path: Path
) -> None:
    transactions = [transaction(i) for i in range(500)]
    cards = [card(i) for i in range(40)]
    insert(mongo, outputs, "transactions", transactions)
    insert(mongo, outputs, "cards", cards)

    loads = run_batch(settings, ["transactions", "cards"], pipelines_dir=tmp_path)

    assert [(ld.dataset, ld.lake, ld.rows) for ld in loads] == [
        ("transactions", "s3", 500),
        ("transactions", "gcs", 500),
        ("cards", "s3", 40),
        ("cards", "gcs", 40),
    ]
    assert gcs_lake(outputs, settings, "transactions") == transactions == s3_lake(outputs, settings, "transactions")
    assert gcs_lake(outputs, settings, "cards") == cards
    assert settings.gcs_target is not None
    names = [b.name for b in gcs_table_blobs(gcs_client(outputs), settings.gcs_target, "mongodb", "transactions")]
    assert names and all(n.startswith(f"{settings.gcs_target.prefix}/mongodb/transactions/") for n in names)
    assert all(n.endswith(".parquet") for n in names)
    assert loads[1].location == f"gs://{settings.gcs_target.bucket}/{settings.gcs_target.prefix}/mongodb/transactions/"


def test_each_lake_keeps_its_own_incremental_state(
    outputs: dict[str, Any], mongo: Any, settings: BatchSettings, tmp_path: Path
) -> None:
    insert(mongo, outputs, "transactions", [transaction(i) for i in range(200)])
    assert run_dataset(settings, "transactions", pipelines_dir=tmp_path / "a", lake="s3").rows == 200
    insert(mongo, outputs, "transactions", [transaction(i) for i in range(200, 230)])
    # the GCS lake missed the first run: it catches up from its own cursor, the S3 lake takes only the new rows
    loads = run_batch(settings, ["transactions"], pipelines_dir=tmp_path / "b")
    assert [(ld.lake, ld.rows) for ld in loads] == [("s3", 30), ("gcs", 230)]
    # a fresh worker (no local dlt state) continues in each lake from the state in that lake's bucket
    again = run_batch(settings, ["transactions"], pipelines_dir=tmp_path / "c")
    assert [(ld.lake, ld.rows) for ld in again] == [("s3", 0), ("gcs", 0)]
    ids = [r["id"] for r in gcs_lake(outputs, settings, "transactions")]
    assert ids == [transaction(i)["id"] for i in range(230)]


def test_a_row_missing_from_the_gcs_lake_is_a_lake_gcs_finding(
    outputs: dict[str, Any], mongo: Any, settings: BatchSettings, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    insert(mongo, outputs, "transactions", [transaction(i) for i in range(120)])
    run_batch(settings, ["transactions"], pipelines_dir=tmp_path)
    assert settings.gcs_target is not None
    (blob,) = gcs_table_blobs(gcs_client(outputs), settings.gcs_target, "mongodb", "transactions")
    table = pq.read_table(io.BytesIO(blob.download_as_bytes()))
    victim = table.slice(7, 1).to_pylist()[0]["id"]
    rewritten = io.BytesIO()
    pq.write_table(table.filter([i != 7 for i in range(table.num_rows)]), rewritten)
    blob.upload_from_string(rewritten.getvalue())

    mine = {**outputs, "mongodb_database": mongo.name}
    scope = Scope(
        stages=("mongodb", "lake-dlt", "lake-gcs"), dlt_target=settings.target, gcs_target=settings.gcs_target
    )
    report = reconcile(mine, ["transactions"], scope, store=False)  # type: ignore[arg-type]

    (part,) = report.datasets
    stages = {s.stage: s for s in part.stages}
    assert list(stages) == ["mongodb", "lake-dlt", "lake-gcs"]
    assert stages["lake-gcs"].where.startswith(f"gs://{settings.gcs_target.bucket}/")
    gcs, s3 = stages["lake-gcs"].comparison, stages["lake-dlt"].comparison
    assert gcs is not None and s3 is not None
    assert (gcs.rows, gcs.missing.count, [str(k) for k in gcs.missing.first]) == (119, 1, [str(victim)])
    assert (s3.rows, s3.missing.count) == (120, 0)
    assert not report.ok


def test_the_dag_settings_land_in_gcs_where_the_outputs_name_a_landing_bucket() -> None:
    public = {
        "s3_buckets": {"landing": "kde-x-landing"},
        "gcs_buckets": {"landing": "kde-x-finance-landing"},
        "gcp_project": "kde-x",
        "endpoints": {"gcs": "http://127.0.0.1:9"},
        "mongodb_database": "db",
    }
    mongo = {"mongo_default": ConnectionFields(conn_type="mongo", host="127.0.0.1", port=9)}

    def settings_for(outputs: dict[str, Any], **variables: str) -> BatchSettings:
        return resolve_settings({"stack_outputs": json.dumps(outputs), **variables}.get, mongo.get)

    both = settings_for(public)
    assert both.gcs_target is not None and list(both.lakes) == ["s3", "gcs"]
    assert (both.gcs_target.bucket, both.gcs_target.project, both.gcs_target.endpoint_url) == (
        "kde-x-finance-landing",
        "kde-x",
        "http://127.0.0.1:9",
    )
    assert both.gcs_target.prefix == both.target.prefix == "dlt"
    moved = settings_for(public, gcs_landing="gs://other", s3_landing_prefix="p")
    assert moved.gcs_target is not None and moved.gcs_target.bucket_url == "gs://other/p"
    s3_only = settings_for({k: v for k, v in public.items() if k != "gcs_buckets"})
    assert s3_only.gcs_target is None and list(s3_only.lakes) == ["s3"]
    with pytest.raises(ValueError, match="no gcs landing bucket"):
        s3_only.lake_target("gcs")
