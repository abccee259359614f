"""Where the batch pipeline reads and writes, resolved from the stack outputs (CLI) or from Airflow (the DAG)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contract.lake_layout import DATASET_NAME, DEFAULT_PREFIX, S3Target, landing_target
from schemas import DATASETS

FILE_FORMATS = ("parquet", "jsonl")


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
        target=landing_target(outputs, bucket, prefix),
        dataset_name=dataset_name,
    )
