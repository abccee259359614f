"""Where things lie in the lake, written once: the S3 sink's object names (both directions) and the batch record
devstack's sink keeps on every object, and dlt's layout of the batch pipeline's tables. The Java sink
(devstack/jvm/s3-sink, `ObjectNames`) writes the same names: both sides check `lake_layout_golden.json`.

The S3 sink (devstack's plugin and Confluent's alike) names an object
`<topics.dir>/<topic>/<folder>/<topic>+<partition>+<start offset, zero-padded to 10>.json[.gz]`, one JSON document
per line, where `<folder>` is `partition=<p>` (DefaultPartitioner) or the time partition (TimeBasedPartitioner's
`path.format`, e.g. `dt=2026-12-01/hour=19`). dlt writes a table's files as
`<prefix>/<dataset>/<table>/<load id>.<file id>.<parquet|jsonl[.gz]>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NamedTuple

#: the names both sides check (pytest here, JUnit in devstack/jvm/s3-sink)
GOLDEN_FILE = Path(__file__).with_name("lake_layout_golden.json")

# --- the S3 sink -------------------------------------------------------------------------------------------------

SINK_OBJECT_SUFFIXES = (".json", ".json.gz")
#: the sink's `filename.offset.zero.pad.width` default
ZERO_PAD_WIDTH = 10
#: S3 user metadata devstack's sink writes on every object: its batch's first offset, the offset after it, the
#: batch's object count and its write time (ms since the epoch)
BATCH_START = "kde-batch-start"
BATCH_END = "kde-batch-end"
BATCH_OBJECTS = "kde-batch-objects"
WRITTEN_AT = "kde-written-at"


class SinkError(RuntimeError):
    """The sink's objects cannot be read (a key that is not a sink object name, a body that is not gzip, records
    missing); the message names the object or the prefix."""


class SinkObject(NamedTuple):
    folder: str  # the key up to the object's own name: `<topics.dir>/<topic>/<folder>`
    topic: str
    partition: int
    start_offset: int


def sink_topic_prefix(topics_dir: str, topic: str) -> str:
    """The key prefix of every object of `topic`."""
    return f"{topics_dir.strip('/')}/{topic}/"


def default_partition_folder(partition: int) -> str:
    """The DefaultPartitioner's folder."""
    return f"partition={partition}"


def sink_object_name(
    topics_dir: str,
    topic: str,
    folder: str,
    partition: int,
    start_offset: int,
    compression: str = "none",
    zero_pad_width: int = ZERO_PAD_WIDTH,
) -> str:
    suffix = ".json.gz" if compression == "gzip" else ".json"
    offset = f"{start_offset:0{max(1, zero_pad_width)}d}"
    return f"{sink_topic_prefix(topics_dir, topic)}{folder}/{topic}+{partition}+{offset}{suffix}"


def parse_sink_object_name(key: str) -> SinkObject:
    """`.../cards-data/partition=2/cards-data+2+0000000042.json[.gz]` -> its folder, topic, partition, offset."""
    folder, _, name = key.rpartition("/")
    stem = name.removesuffix(".gz").removesuffix(".json")
    try:
        topic, partition, offset = stem.rsplit("+", 2)
        return SinkObject(folder, topic, int(partition), int(offset))
    except ValueError:
        raise SinkError(f"{key}: not an S3 sink object name (<topic>+<partition>+<start offset>.json)") from None


def is_sink_object(key: str) -> bool:
    return key.endswith(SINK_OBJECT_SUFFIXES)


def aiven_file_name_template(compression: str = "none") -> str:
    """Aiven's S3 sink names its objects by a template of its own (`file.name.template`, below the prefix):
    `<topic>/<topic>-<partition>-<start offset>.jsonl[.gz]`."""
    return "{{topic}}/{{topic}}-{{partition}}-{{start_offset}}.jsonl" + (".gz" if compression == "gzip" else "")


# --- dlt ---------------------------------------------------------------------------------------------------------

#: dlt's dataset name: the folder under the bucket URL holding one folder per table (the seed's "mongodb")
DATASET_NAME = "mongodb"
#: the landing bucket holds the Kafka sink's `kafka/...` beside it; the batch lands under `<bucket>/<prefix>/mongodb`
DEFAULT_PREFIX = "dlt"
#: columns dlt adds to every row (load id and row id), not part of the dataset
DLT_COLUMNS = frozenset({"_dlt_load_id", "_dlt_id"})
DLT_DATA_SUFFIXES = (".parquet", ".jsonl.gz", ".jsonl")


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
        return _bucket_url("s3", self.bucket, self.prefix)

    def table_prefix(self, dataset_name: str, table: str) -> str:
        """The S3 key prefix of one table's files (dlt's default layout `<table>/<load_id>.<file_id>.<ext>`)."""
        return _table_prefix(self.prefix, dataset_name, table)


@dataclass(frozen=True)
class GcsTarget:
    """The batch pipeline's place in the GCS lake: the same layout as in S3, under `gs://<bucket>/<prefix>`."""

    bucket: str
    prefix: str = DEFAULT_PREFIX
    project: str | None = None
    #: the emulator's URL (anonymous access); None on GCP, where the default credential chain applies
    endpoint_url: str | None = None

    @property
    def bucket_url(self) -> str:
        return _bucket_url("gs", self.bucket, self.prefix)

    def table_prefix(self, dataset_name: str, table: str) -> str:
        """The object name prefix of one table's files."""
        return _table_prefix(self.prefix, dataset_name, table)


#: where the batch lands: an S3 or a GCS landing bucket
LakeTarget = S3Target | GcsTarget


def _bucket_url(scheme: str, bucket: str, prefix: str) -> str:
    prefix = prefix.strip("/")
    return f"{scheme}://{bucket}/{prefix}" if prefix else f"{scheme}://{bucket}"


def _table_prefix(prefix: str, dataset_name: str, table: str) -> str:
    parts = [p for p in (prefix.strip("/"), dataset_name, table) if p]
    return "/".join(parts) + "/"


def bucket_name(value: str) -> str:
    """`kde-landing`, `s3://kde-landing` or `s3://kde-landing/` -> `kde-landing` (Variables hold either form)."""
    name = value.removeprefix("s3://").strip("/")
    if not name or "/" in name:
        raise ValueError(f"{value!r} is not a bucket name (expected `name` or `s3://name`)")
    return name


def landing_target(outputs: Mapping[str, Any], bucket: str | None = None, prefix: str = DEFAULT_PREFIX) -> S3Target:
    """The batch pipeline's place from the stack outputs: the landing bucket (or `bucket`), under `prefix`."""
    creds = outputs.get("aws_credentials") or {}
    return S3Target(
        bucket=bucket_name(bucket or outputs["s3_buckets"]["landing"]),
        prefix=prefix,
        region=outputs.get("aws_region"),
        endpoint_url=(outputs.get("endpoints") or {}).get("s3"),
        access_key_id=creds.get("access_key_id"),
        secret_access_key=creds.get("secret_access_key"),
    )


def gcs_landing_target(
    outputs: Mapping[str, Any], bucket: str | None = None, prefix: str = DEFAULT_PREFIX
) -> GcsTarget | None:
    """The batch pipeline's place in the GCS lake: the outputs' GCS landing bucket (or `bucket`), under `prefix`;
    None when the stack has no GCS landing bucket (that stack's batch writes S3 only)."""
    name = bucket or (outputs.get("gcs_buckets") or {}).get("landing")
    if not name:
        return None
    return GcsTarget(
        bucket=bucket_name(name.removeprefix("gs://")),
        prefix=prefix,
        project=outputs.get("gcp_project"),
        endpoint_url=(outputs.get("endpoints") or {}).get("gcs"),
    )


def is_dlt_data_file(key: str) -> bool:
    name = key.rsplit("/", 1)[-1]
    return name.endswith(DLT_DATA_SUFFIXES) and not name.startswith("init")


def dlt_load_id_of(key: str) -> str:
    """dlt's file layout `<table>/<load id>.<file id>.<ext>` (the load id is a timestamp with a dot in it); the
    rows' `_dlt_load_id` column says the same, but dlt leaves it out of Arrow loads."""
    name = key.rsplit("/", 1)[-1]
    for suffix in DLT_DATA_SUFFIXES:
        name = name.removesuffix(suffix)
    return name.rsplit(".", 1)[0]


def dlt_load_order(load_id: str) -> tuple[Decimal, str]:
    """dlt's load ids are Unix timestamps as text: compared as numbers (`999.5` is before `1000.1`)."""
    try:
        return Decimal(load_id), load_id
    except InvalidOperation:
        return Decimal(0), load_id
