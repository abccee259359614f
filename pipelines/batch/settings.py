"""Where the batch pipeline reads and writes, resolved from the stack outputs (CLI) or from Airflow (the DAG)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas import DATASETS

#: dlt's dataset name: the folder under the bucket URL holding one folder per table (the seed's "mongodb")
DATASET_NAME = "mongodb"
#: the landing bucket holds the Kafka sink's `kafka/...` beside it; the batch lands under `<bucket>/<prefix>/mongodb`
DEFAULT_PREFIX = "dlt"
FILE_FORMATS = ("parquet", "jsonl")


@dataclass(frozen=True)
class S3Target:
    bucket: str
    prefix: str = DEFAULT_PREFIX
    region: str | None = None
    #: an S3-compatible endpoint (moto, MinIO); None on AWS
    endpoint_url: str | None = None
    #: static keys for emulators; None on real clouds, where the default credential chain applies
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)

    @property
    def bucket_url(self) -> str:
        prefix = self.prefix.strip("/")
        return f"s3://{self.bucket}/{prefix}" if prefix else f"s3://{self.bucket}"

    def table_prefix(self, dataset_name: str, table: str) -> str:
        """The S3 key prefix of one table's files (dlt's default layout `<table>/<load_id>.<file_id>.<ext>`)."""
        parts = [p for p in (self.prefix.strip("/"), dataset_name, table) if p]
        return "/".join(parts) + "/"


@dataclass(frozen=True)
class BatchSettings:
    mongodb_uri: str = field(repr=False)
    mongodb_database: str
    collections: Mapping[str, str]
    target: S3Target
    dataset_name: str = DATASET_NAME

    def pipeline_name(self, dataset: str) -> str:
        # one dlt pipeline per dataset: its own state, schema and load, so the DAG can run them in parallel
        # and a failing collection does not hold the others back (the seed's name + the dataset)
        return f"extract_load_mongodb_s3_{dataset}"


def bucket_name(value: str) -> str:
    """`kde-landing`, `s3://kde-landing` or `s3://kde-landing/` -> `kde-landing` (Variables hold either form)."""
    name = value.removeprefix("s3://").strip("/")
    if not name or "/" in name:
        raise ValueError(f"{value!r} is not a bucket name (expected `name` or `s3://name`)")
    return name


def settings_from_outputs(
    outputs: Mapping[str, Any],
    *,
    bucket: str | None = None,
    prefix: str = DEFAULT_PREFIX,
    database: str | None = None,
    mongodb_uri: str | None = None,
    dataset_name: str = DATASET_NAME,
) -> BatchSettings:
    """Settings from stack outputs; each keyword, when given, overrides the value the outputs define."""
    creds = outputs.get("aws_credentials") or {}
    collections = dict(outputs.get("mongodb_collections") or {})
    unknown = sorted(set(collections) - set(DATASETS))
    if unknown:
        raise ValueError(f"stack outputs name collections for unknown dataset(s): {', '.join(unknown)}")
    uri = mongodb_uri or outputs.get("mongodb_uri")
    if not uri:
        raise ValueError("no MongoDB URI: the stack outputs have no `mongodb_uri`")
    return BatchSettings(
        mongodb_uri=uri,
        mongodb_database=database or outputs["mongodb_database"],
        collections=collections,
        target=S3Target(
            bucket=bucket_name(bucket or outputs["s3_buckets"]["landing"]),
            prefix=prefix,
            region=outputs.get("aws_region"),
            endpoint_url=(outputs.get("endpoints") or {}).get("s3"),
            access_key_id=creds.get("access_key_id"),
            secret_access_key=creds.get("secret_access_key"),
        ),
        dataset_name=dataset_name,
    )
