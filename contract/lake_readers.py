"""Reading the lake back, straight from the bucket (boto3 + pyarrow), independent of the writers' own state: the
S3 sink's records of a topic and dlt's tables, laid out as contract.lake_layout says. The reconcile stores, the
demo, the tests and the benchmarks read through here.

A sink record's offset is its object's start offset plus its line number: exact while the object's records are
consecutive, which they are with the DefaultPartitioner unless records were skipped (sent to the dead-letter
topic, or tombstones); the sink's JSON lines, like Confluent's, do not carry offsets. A record can sit in two
objects: a sink that cuts objects by the wall clock (`rotate.schedule.interval.ms`) may cut a batch it
re-delivers after a crash differently. Records are therefore keyed by folder, partition and offset: each is
returned once.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contract.clients import s3_client
from contract.lake_layout import (
    DLT_COLUMNS,
    GcsTarget,
    S3Target,
    SinkError,
    is_dlt_data_file,
    is_sink_object,
    parse_sink_object_name,
    sink_topic_prefix,
)

# --- the S3 sink's objects ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SinkRecord:
    partition: int
    offset: int
    key: str  # the S3 object holding it
    value: dict[str, Any]


def sink_prefix(outputs: Mapping[str, Any], topic: str) -> str:
    """The key prefix of the stack's sink objects of `topic`."""
    return sink_topic_prefix(outputs["s3_sink"]["prefix"], topic)


def read_sink_records(
    outputs: Mapping[str, Any],
    topic: str,
    since: Mapping[int, int] | None = None,
    s3: Any = None,
    written_since: datetime | None = None,
) -> list[SinkRecord]:
    """The records the sink wrote for `topic` (only offsets >= `since[partition]`, and only objects written at
    or after `written_since`, when given), by partition and offset. `written_since` tells a re-created topic
    (offsets from 0 again) from the objects its earlier incarnation left in the lake under the same names."""
    s3 = s3 or s3_client(outputs)
    bucket = outputs["s3_sink"]["bucket"]
    records: dict[tuple[int, int, str], SinkRecord] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=sink_prefix(outputs, topic)):
        objects = sorted((o for o in page.get("Contents", []) if is_sink_object(o["Key"])), key=_offset_order)
        for obj in objects:
            if written_since is not None and obj["LastModified"] < written_since:
                continue
            name = parse_sink_object_name(obj["Key"])
            floor = (since or {}).get(name.partition, 0)
            body = _sink_lines(obj["Key"], s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
            for i, line in enumerate(body.splitlines()):
                if name.start_offset + i >= floor and line.strip():
                    # objects of one folder never overlap unless a batch was re-cut: then the later one wins
                    offset = name.start_offset + i
                    records[(name.partition, offset, name.folder)] = SinkRecord(
                        name.partition, offset, obj["Key"], json.loads(line)
                    )
    return [records[k] for k in sorted(records)]


def stream_sink_records(
    outputs: Mapping[str, Any],
    topic: str,
    since: Mapping[int, int] | None = None,
    s3: Any = None,
    written_since: datetime | None = None,
    fetchers: int = 2,
) -> Iterator[SinkRecord]:
    """read_sink_records' records, as the listing's pages come, holding only the objects being fetched (in
    `fetchers` threads, ahead of the reader, in listing order). Within a folder the names sort by partition,
    then offset (zero-padded), so a record at an offset already returned for its folder and partition is one
    that a re-cut batch holds twice: it is skipped (the first copy is returned, where read_sink_records keeps
    the later one; both are the same record). Records come in listing order, not sorted."""
    s3 = s3 or s3_client(outputs)
    bucket = outputs["s3_sink"]["bucket"]
    done: dict[tuple[str, int], int] = {}  # (folder, partition) -> the next offset not yet returned
    for key, body in _fetched(s3, bucket, _sink_keys(s3, bucket, sink_prefix(outputs, topic), written_since), fetchers):
        name = parse_sink_object_name(key)
        start = max((since or {}).get(name.partition, 0), done.get((name.folder, name.partition), 0))
        last = None
        for i, line in enumerate(_sink_lines(key, body).splitlines()):
            offset = name.start_offset + i
            if offset >= start and line.strip():
                last = offset
                yield SinkRecord(name.partition, offset, key, json.loads(line))
        if last is not None:
            done[(name.folder, name.partition)] = last + 1


def _sink_keys(s3: Any, bucket: str, prefix: str, written_since: datetime | None) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if is_sink_object(obj["Key"]) and (written_since is None or obj["LastModified"] >= written_since):
                yield obj["Key"]


def _fetched(s3: Any, bucket: str, keys: Iterator[str], threads: int) -> Iterator[tuple[str, bytes]]:
    """(key, body) of each key in order, `threads` GETs ahead of the caller."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    def get(key: str) -> tuple[str, bytes]:
        return key, s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    with ThreadPoolExecutor(threads) as pool:
        ahead: deque[Any] = deque()
        for key in keys:
            ahead.append(pool.submit(get, key))
            if len(ahead) > threads:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def _offset_order(obj: Mapping[str, Any]) -> tuple[int, int, str]:
    """Objects in offset order whatever their folders (time partitions sort by time, not by offset)."""
    name = parse_sink_object_name(obj["Key"])
    return name.partition, name.start_offset, obj["Key"]


def _sink_lines(key: str, body: bytes) -> bytes:
    if not key.endswith(".gz"):
        return body
    try:
        return gzip.decompress(body)
    except (OSError, EOFError) as exc:
        raise SinkError(f"{key}: not a gzip object ({exc})") from None


# --- dlt's tables ------------------------------------------------------------------------------------------------


def table_keys(s3: Any, target: S3Target, dataset_name: str, table: str) -> list[str]:
    """The data files of one table, oldest load first (dlt's file names start with the load id)."""
    prefix = target.table_prefix(dataset_name, table)
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=target.bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", []) if is_dlt_data_file(o["Key"])]
    return sorted(keys)


def read_file(body: bytes, key: str) -> list[dict[str, Any]]:
    if key.endswith(".parquet"):
        import pyarrow.parquet as pq

        rows: list[dict[str, Any]] = pq.read_table(io.BytesIO(body)).to_pylist()
        return rows
    if body[:2] == b"\x1f\x8b":  # dlt gzips jsonl files whatever their name says
        body = gzip.decompress(body)
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def read_table(
    s3: Any, target: S3Target, dataset_name: str, table: str, *, with_dlt_columns: bool = False
) -> list[dict[str, Any]]:
    """Every row of a table in the lake (all loads of an appended table, the last load of a replaced one)."""
    rows: list[dict[str, Any]] = []
    for key in table_keys(s3, target, dataset_name, table):
        body = s3.get_object(Bucket=target.bucket, Key=key)["Body"].read()
        for row in read_file(body, key):
            rows.append(row if with_dlt_columns else {k: v for k, v in row.items() if k not in DLT_COLUMNS})
    return rows


# --- dlt's tables in the GCS lake --------------------------------------------------------------------------------


def gcs_table_blobs(gcs: Any, target: GcsTarget, dataset_name: str, table: str) -> list[Any]:
    """The data files (google-cloud-storage blobs) of one table in the GCS lake, oldest load first."""
    blobs = gcs.list_blobs(target.bucket, prefix=target.table_prefix(dataset_name, table))
    return sorted((b for b in blobs if is_dlt_data_file(b.name)), key=lambda b: b.name)


def read_gcs_table(gcs: Any, target: GcsTarget, dataset_name: str, table: str) -> list[dict[str, Any]]:
    """Every row of a table in the GCS lake, dlt's own columns left out."""
    rows: list[dict[str, Any]] = []
    for blob in gcs_table_blobs(gcs, target, dataset_name, table):
        rows += [
            {k: v for k, v in r.items() if k not in DLT_COLUMNS} for r in read_file(blob.download_as_bytes(), blob.name)
        ]
    return rows
