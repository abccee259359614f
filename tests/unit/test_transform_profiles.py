"""The dbt profile made from the stack outputs' `warehouse` key: DuckDB reading the lake with the outputs' keys,
BigQuery with the service-account key from the Airflow connection; the file holding it is private and gone after."""

from __future__ import annotations

import json
import stat
from typing import Any

import pytest

from contract.lake_layout import S3Target
from pipelines.transform.profiles import WarehouseConfigError, dbt_vars, profile
from pipelines.transform.run import profiles_dir

DUCKDB = {"kind": "duckdb", "silver": "silver", "gold": "gold", "path": "/home/x/warehouse/finance.duckdb",
          "project": None, "location": None, "airflow_connection": None}  # fmt: skip
BIGQUERY = {"kind": "bigquery", "silver": "kde_finance_silver", "gold": "kde_finance_gold", "path": None,
            "project": "kde-dev", "location": "EU", "airflow_connection": "google_cloud_dbt"}  # fmt: skip
OUTPUTS: dict[str, Any] = {
    "aws_region": "us-east-1",
    "endpoints": {"s3": "http://127.0.0.1:15000"},
    "aws_credentials": {"access_key_id": "devstack", "secret_access_key": "devstack-secret"},
    "s3_buckets": {"landing": "kde-devstack-landing"},
}


def test_duckdb_reads_the_landing_bucket_with_the_outputs_endpoint_and_keys() -> None:
    output = profile({**OUTPUTS, "warehouse": DUCKDB})["kde_finance"]["outputs"]["stack"]
    assert (output["type"], output["path"], output["schema"], output["threads"]) == (
        "duckdb", DUCKDB["path"], "silver", 1,
    )  # fmt: skip
    [s3] = output["filesystems"]
    assert (s3["fs"], s3["endpoint_url"], s3["key"], s3["secret"]) == (
        "s3", "http://127.0.0.1:15000", "devstack", "devstack-secret",
    )  # fmt: skip
    assert dbt_vars({**OUTPUTS, "warehouse": DUCKDB}) == {
        "landing_root": "s3://kde-devstack-landing/dlt/mongodb", "landing_schema": "silver",
        "silver_schema": "silver", "gold_schema": "gold",
    }  # fmt: skip
    # the batch's Variables may move the lake: the vars follow the target given
    moved = dbt_vars({**OUTPUTS, "warehouse": DUCKDB}, S3Target(bucket="other", prefix="p"))
    assert moved["landing_root"] == "s3://other/p/mongodb"


def test_bigquery_needs_the_key_the_connection_carries() -> None:
    with pytest.raises(WarehouseConfigError, match="google_cloud_dbt"):
        profile({**OUTPUTS, "warehouse": BIGQUERY})
    key = {"type": "service_account", "client_email": "dbt@kde-dev.iam.gserviceaccount.com"}
    output = profile({**OUTPUTS, "warehouse": BIGQUERY}, keyfile=key)["kde_finance"]["outputs"]["stack"]
    assert (output["type"], output["method"], output["project"], output["dataset"], output["location"]) == (
        "bigquery", "service-account-json", "kde-dev", "kde_finance_silver", "EU",
    )  # fmt: skip
    assert output["keyfile_json"] == key


def test_bigquery_reads_the_gcs_lake_through_external_tables_in_silver() -> None:
    outputs = {**OUTPUTS, "warehouse": BIGQUERY, "gcs_buckets": {"landing": "kde-dev-landing"}}
    assert dbt_vars(outputs) == {
        "landing_root": "gs://kde-dev-landing/dlt/mongodb", "landing_schema": "kde_finance_silver",
        "silver_schema": "kde_finance_silver", "gold_schema": "kde_finance_gold",
    }  # fmt: skip
    with pytest.raises(WarehouseConfigError, match=r"gcs_buckets\.landing"):
        dbt_vars({**OUTPUTS, "warehouse": BIGQUERY})


@pytest.mark.parametrize("warehouse", [None, {"kind": "sqlite"}, {**DUCKDB, "path": ""}])
def test_a_missing_or_unknown_warehouse_is_a_clear_error(warehouse: Any) -> None:
    with pytest.raises(WarehouseConfigError, match="warehouse"):
        profile({**OUTPUTS, "warehouse": warehouse})


def test_the_profile_file_is_private_and_removed_after() -> None:
    content = profile({**OUTPUTS, "warehouse": DUCKDB})
    with profiles_dir(content) as folder:
        path = folder / "profiles.yml"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert json.loads(path.read_text()) == content
    assert not folder.exists()


def test_bigquerys_gold_check_is_the_builds_dbt_test() -> None:
    from pipelines.transform.airflow_task import GOLD_TEST, TransformFailed, gold_test_of

    passed = {"nodes": [{"name": GOLD_TEST, "status": "pass", "seconds": 1.5}, {"name": "x", "status": "fail"}]}
    assert gold_test_of(passed)["ok"] is True
    with pytest.raises(TransformFailed, match=f"{GOLD_TEST} fail"):
        gold_test_of({"nodes": [{"name": GOLD_TEST, "status": "fail"}]})
    with pytest.raises(TransformFailed, match="not in the build"):
        gold_test_of({"nodes": []})
