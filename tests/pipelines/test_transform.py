"""The dbt project (pipelines/transform) against devstack: a small world lands in the moto lake through the real
batch pipeline, dbt builds silver and gold in a DuckDB file of the test's own reading that lake through S3, every
dbt test passes, the silver stage reconciles with the lake and gold adds up; seeded bad data fails a dbt test that
names its model and column."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _pipelines_records import delete_prefix, transaction, unique
from _transform_world import duckdb_warehouse, land, world

from contract.clients import s3_client
from contract.lake_layout import DATASET_NAME, dlt_load_id_of
from contract.lake_readers import table_keys
from pipelines.batch.settings import BatchSettings, settings_from_outputs
from pipelines.reconcile.plan import Scope
from pipelines.reconcile.run import reconcile
from pipelines.reconcile.stores.warehouse import gold_month_totals
from pipelines.transform.run import BuildResult, build

pytestmark = pytest.mark.devstack

MODELS = {
    "silver_transactions", "silver_cards", "silver_users", "silver_mcc_codes", "silver_fraud_labels",
    "gold_fraud_rate_by_state", "gold_fraud_rate_by_mcc", "gold_client_monthly_spend", "gold_dark_web_cards_recent",
}  # fmt: skip


@pytest.fixture(scope="module")
def outputs(platform: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return platform("ferretdb", "moto")


@pytest.fixture
def landed(outputs: dict[str, Any], tmp_path: Path) -> Iterator[Callable[..., BatchSettings]]:
    """Lands a world in a fresh MongoDB database and a fresh lake prefix; both dropped afterwards."""
    import pymongo

    client: Any = pymongo.MongoClient(outputs["mongodb_uri"], serverSelectionTimeoutMS=10_000)
    made: list[BatchSettings] = []

    def make(records: dict[str, list[dict[str, Any]]]) -> BatchSettings:
        mongo = client[unique("test-transform")]
        settings = settings_from_outputs(outputs, database=mongo.name, prefix=unique("test-transform"))
        made.append(settings)
        land(mongo, outputs, settings, records, tmp_path / "dlt")
        return settings

    yield make
    for settings in made:
        client.drop_database(settings.mongodb_database)
        delete_prefix(s3_client(outputs), settings.target.bucket, settings.target.prefix + "/")
    client.close()


def test_silver_and_gold_build_from_the_lake_and_every_dbt_test_passes(
    outputs: dict[str, Any], landed: Callable[..., BatchSettings], tmp_path: Path
) -> None:
    records = world(600)
    settings = landed(records)
    stack = duckdb_warehouse(outputs, tmp_path / "warehouse")

    result = build(stack, target=settings.target, work_dir=tmp_path / "dbt")

    assert result.ok, "\n".join(result.lines())
    assert {n.name for n in result.nodes if n.kind == "model"} == MODELS
    tested = {n.name for n in result.nodes if n.kind == "test"}
    for model in MODELS:  # every model has tests
        assert any(model in name for name in tested), model
    for kind in ("unique_", "not_null_", "relationships_", "accepted_values_"):
        assert any(name.startswith(kind) for name in tested), kind
    assert {"silver_keys_match_landing", "gold_month_totals_equal_silver"} <= tested  # the checks BigQuery runs
    assert result.docs_page and "silver_transactions" in result.docs_page.read_text()

    db = duckdb.connect(stack["warehouse"]["path"], read_only=True)
    try:
        assert db.execute("SELECT count(*) FROM silver.silver_transactions").fetchone() == (600,)
        amount_type = db.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'silver_transactions' "
            "AND column_name = 'amount'"
        ).fetchone()
        assert amount_type == ("DECIMAL(18,2)",)
        # the California fraud rate, counted here from the records themselves
        labels = {r["id"]: r["is_fraud"] for r in records["fraud_labels"]}
        ca = [labels[t["id"]] for t in records["transactions"] if t["merchant_state"] == "CA" and t["id"] in labels]
        rate = db.execute(
            "SELECT labelled_transactions, fraud_transactions FROM gold.gold_fraud_rate_by_state "
            "WHERE merchant_state = 'CA'"
        ).fetchone()
        assert rate == (len(ca), sum(ca))
    finally:
        db.close()

    # the silver stage: every landing key in silver, value for value; gold's month totals equal silver's
    report = reconcile(
        stack, ["transactions", "cards", "users", "mcc_codes", "fraud_labels"],
        Scope(stages=("lake-dlt", "silver"), dlt_target=settings.target), store=False,
    )  # fmt: skip
    for part in report.datasets:
        silver = next(s for s in part.stages if s.stage == "silver")
        assert silver.error is None, silver.error
        assert silver.comparison is not None
        assert (silver.comparison.missing.count, silver.comparison.mismatched.count) == (0, 0), part.dataset
        assert silver.comparison.rows == len(records[part.dataset])
    assert gold_month_totals(stack).ok


def test_a_newer_version_of_a_key_replaces_the_older_in_silver(
    outputs: dict[str, Any], landed: Callable[..., BatchSettings], tmp_path: Path
) -> None:
    """A later load of a key (a re-load after the pipeline's state was reset) wins over the earlier one."""
    records = world(30)
    settings = landed(records)
    s3 = s3_client(outputs)
    key = table_keys(s3, settings.target, DATASET_NAME, "transactions")[0]
    landed_file = pq.read_table(io.BytesIO(s3.get_object(Bucket=settings.target.bucket, Key=key)["Body"].read()))
    newer = {**landed_file.slice(0, 1).to_pylist()[0], "amount": 12345.67}
    later = f"{Decimal(dlt_load_id_of(key)) + 1}"
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([newer], schema=landed_file.schema), sink)
    s3.put_object(Bucket=settings.target.bucket, Key=key.rsplit("/", 1)[0] + f"/{later}.newer.parquet",
                  Body=sink.getvalue())  # fmt: skip
    stack = duckdb_warehouse(outputs, tmp_path / "warehouse")

    result = build(stack, target=settings.target, work_dir=tmp_path / "dbt", docs=False)

    assert result.ok, "\n".join(result.lines())
    db = duckdb.connect(stack["warehouse"]["path"], read_only=True)
    try:
        count, amount = db.execute(
            "SELECT count(*), any_value(amount) FILTER (WHERE transaction_id = ?) FROM silver.silver_transactions",
            [newer["id"]],
        ).fetchone() or (0, None)
    finally:
        db.close()
    assert (count, amount) == (30, Decimal("12345.67"))


def test_seeded_bad_data_fails_the_dbt_test_that_names_its_model_and_column(
    outputs: dict[str, Any], landed: Callable[..., BatchSettings], tmp_path: Path
) -> None:
    records = world(30)
    records["transactions"].append({**transaction(30), "use_chip": "Teleport Transaction"})
    settings = landed(records)
    stack = duckdb_warehouse(outputs, tmp_path / "warehouse")

    result: BuildResult = build(stack, target=settings.target, work_dir=tmp_path / "dbt", docs=False)

    assert not result.ok
    failed = [(n.name, n.status, n.failures) for n in result.failed]
    assert failed == [("accepted_values_silver_transactions_channel__chip__swipe__online", "fail", 1)]
    assert "Got 1 result" in result.failed[0].message
    # what depends on the failed test's model does not build on it
    assert {n.name for n in result.skipped} >= {"gold_client_monthly_spend", "gold_fraud_rate_by_state"}
    assert result.lines()[0].startswith("   FAIL test  accepted_values_silver_transactions_channel__")
