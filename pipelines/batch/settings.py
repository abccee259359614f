"""Where the batch pipeline reads and writes, resolved from the stack outputs (CLI) or from Airflow (the DAG)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contract.lake_layout import (
    DATASET_NAME,
    DEFAULT_PREFIX,
    GcsTarget,
    LakeTarget,
    S3Target,
    gcs_landing_target,
    landing_target,
)
from schemas import DATASETS

FILE_FORMATS = ("parquet", "jsonl")
#: the lakes the batch can land in, in the order a run loads them
LAKES = ("s3", "gcs")


@dataclass(frozen=True)
class BatchSettings:
    mongodb_uri: str = field(repr=False)
    mongodb_database: str
    collections: Mapping[str, str]
    target: S3Target
    dataset_name: str = DATASET_NAME
    #: the GCS landing bucket; None when the stack has none (its batch then writes S3 only)
    gcs_target: GcsTarget | None = None

    @property
    def lakes(self) -> dict[str, LakeTarget]:
        """The lakes this stack's batch lands in: lake name (`s3`, `gcs`) -> where."""
        targets: dict[str, LakeTarget | None] = {"s3": self.target, "gcs": self.gcs_target}
        return {lake: target for lake, target in targets.items() if target is not None}

    def lake_target(self, lake: str) -> LakeTarget:
        target = self.lakes.get(lake)
        if target is None:
            raise ValueError(
                f"no {lake} landing bucket in the stack outputs: this stack lands in {', '.join(self.lakes)}"
            )
        return target

    def pipeline_name(self, dataset: str, lake: str = "s3") -> str:
        # one dlt pipeline per dataset and lake: its own state, schema and load, so the DAG can run them in
        # parallel, a failing collection or lake does not hold the others back, and a lake that missed a run
        # catches up from its own cursor (the seed's name + the lake + the dataset)
        return f"extract_load_mongodb_{lake}_{dataset}"


def settings_from_outputs(
    outputs: Mapping[str, Any],
    *,
    bucket: str | None = None,
    prefix: str = DEFAULT_PREFIX,
    database: str | None = None,
    mongodb_uri: str | None = None,
    dataset_name: str = DATASET_NAME,
    gcs_bucket: str | None = None,
) -> BatchSettings:
    """Settings from stack outputs; each keyword, when given, overrides the value the outputs define. The batch
    lands in GCS too when the outputs name a GCS landing bucket (`gcs_buckets.landing`)."""
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
        gcs_target=gcs_landing_target(outputs, gcs_bucket, prefix),
    )
