"""The dbt profile and vars for one stack, from its outputs: the `warehouse` key says which warehouse and
where; the lake it reads is where the batch landed for that warehouse (DuckDB: the S3 landing bucket; BigQuery: the
GCS one, which its external tables can read). Secrets (the lake's keys, BigQuery's service-account key) go only
into the profile dict: `run.profiles_dir` writes it to a 0600 file that lives as long as one dbt invocation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contract.lake_layout import DATASET_NAME, LakeTarget, S3Target, gcs_landing_target, landing_target

PROFILE = "kde_finance"  # dbt_project.yml's `profile`
TARGET = "stack"


class WarehouseConfigError(ValueError):
    """The outputs' `warehouse` key cannot make a dbt profile; the message names the key."""


def warehouse_of(outputs: Mapping[str, Any]) -> dict[str, Any]:
    warehouse = outputs.get("warehouse")
    if not isinstance(warehouse, Mapping) or warehouse.get("kind") not in ("duckdb", "bigquery"):
        raise WarehouseConfigError("stack outputs: `warehouse` is missing or its kind is not duckdb or bigquery")
    return dict(warehouse)


def landing_root(target: LakeTarget) -> str:
    """Where dlt's tables of the MongoDB datasets are: `s3://<bucket>/<prefix>/mongodb` (or `gs://...`)."""
    return f"{target.bucket_url}/{DATASET_NAME}"


def lake_of(outputs: Mapping[str, Any]) -> LakeTarget:
    """The landing lake the stack's warehouse reads: DuckDB the S3 one (through s3fs), BigQuery the GCS one."""
    if warehouse_of(outputs)["kind"] == "duckdb":
        return landing_target(outputs)
    gcs = gcs_landing_target(outputs)
    if gcs is None:
        raise WarehouseConfigError(
            "stack outputs: a BigQuery warehouse reads the GCS lake; `gcs_buckets.landing` is empty"
        )
    return gcs


def dbt_vars(outputs: Mapping[str, Any], target: LakeTarget | None = None) -> dict[str, Any]:
    warehouse = warehouse_of(outputs)
    return {
        "landing_root": landing_root(target or lake_of(outputs)),
        "landing_schema": warehouse["silver"],  # BigQuery's external tables over the landing files
        "silver_schema": warehouse["silver"],
        "gold_schema": warehouse["gold"],
    }


def profile(
    outputs: Mapping[str, Any], target: LakeTarget | None = None, keyfile: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """profiles.yml's content for the stack's warehouse. `keyfile`: BigQuery's service-account key (from the
    Airflow connection `warehouse.airflow_connection`); DuckDB needs none."""
    warehouse = warehouse_of(outputs)
    if warehouse["kind"] == "duckdb":
        lake = target or landing_target(outputs)
        if not isinstance(lake, S3Target):
            raise WarehouseConfigError(f"the DuckDB warehouse reads the S3 lake, not {lake.bucket_url}")
        output = _duckdb(warehouse, lake)
    else:
        output = _bigquery(warehouse, keyfile)
    return {PROFILE: {"target": TARGET, "outputs": {TARGET: output}}}


def _duckdb(warehouse: Mapping[str, Any], lake: S3Target) -> dict[str, Any]:
    if not warehouse.get("path"):
        raise WarehouseConfigError("stack outputs: `warehouse.path` (the DuckDB file) is empty")
    # DuckDB reads the lake through fsspec's s3fs (its httpfs extension is a download, which this platform
    # cannot count on); skip the instance and listing caches so a second build in one process sees new files
    s3: dict[str, Any] = {"fs": "s3", "skip_instance_cache": True, "use_listings_cache": False}
    if lake.access_key_id:
        s3 |= {"key": lake.access_key_id, "secret": lake.secret_access_key}
    if lake.endpoint_url:
        s3["endpoint_url"] = lake.endpoint_url
    if lake.region:
        s3["client_kwargs"] = {"region_name": lake.region}
    return {
        "type": "duckdb",
        "path": warehouse["path"],
        "schema": warehouse["silver"],
        "threads": 1,  # one writer to one file; the models are small next to dbt's own overhead
        "filesystems": [s3],
    }


def _bigquery(warehouse: Mapping[str, Any], keyfile: Mapping[str, Any] | None) -> dict[str, Any]:
    if keyfile is None:
        raise WarehouseConfigError(
            f"BigQuery warehouse: no service-account key (Airflow connection {warehouse.get('airflow_connection')!r})"
        )
    return {
        "type": "bigquery",
        "method": "service-account-json",
        "keyfile_json": dict(keyfile),
        "project": warehouse["project"],
        "dataset": warehouse["silver"],
        "location": warehouse["location"],
        "threads": 4,
    }
