"""Reading back what the S3 sink connector wrote of the streaming topics into the landing bucket.

The connector itself (`s3_sink.connector` in the outputs, the seed's `s3-sink-kde`) is created by the stack
(a Pulumi dynamic resource, components/connect/), never here.

Where the sink writes (devstack's plugin and Confluent's sink alike):
`s3://<s3_sink.bucket>/<s3_sink.prefix>/<topic>/<folders>/<topic>+<p>+<first offset:010d>.json[.gz]`, one JSON
document per line (gzipped when the name ends in .gz), so every record's partition and offset are known from
the object name and line number. `<folders>` is `partition=<p>` (DefaultPartitioner) or the time partition
(TimeBasedPartitioner's `path.format`, e.g. `dt=2026-12-01/hour=19`).

A record's offset is its object's start offset plus its line number: exact while the object's records are
consecutive, which they are with the DefaultPartitioner unless records were skipped (sent to the dead-letter
topic, or tombstones); the sink's JSON lines, like Confluent's, do not carry offsets. A record can sit in two
objects: a sink that cuts objects by the wall clock (`rotate.schedule.interval.ms`) may cut a batch it
re-delivers after a crash differently. Records are therefore keyed by folder, partition and offset: each is
returned once.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contract.clients import kafka_config, s3_client


class SinkError(RuntimeError):
    pass


@dataclass(frozen=True)
class SinkRecord:
    partition: int
    offset: int
    key: str  # the S3 object holding it
    value: dict[str, Any]


def end_offsets(outputs: Mapping[str, Any], topic: str) -> dict[int, int]:
    """The next offset of every partition of `topic`: records produced after this call have offsets >= these.
    Asked through the admin API, not a consumer: a consumer needs a group id, and librdkafka's close of one can
    keep retrying the group coordinator's lookup while the coordinator does not answer."""
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import AdminClient, OffsetSpec

    admin = AdminClient(kafka_config(outputs))
    metadata = admin.list_topics(topic, timeout=10)
    partitions = metadata.topics[topic].partitions if topic in metadata.topics else {}
    if not partitions:
        return {}
    wanted = {TopicPartition(topic, p): OffsetSpec.latest() for p in partitions}
    futures = admin.list_offsets(wanted, request_timeout=10)
    return {tp.partition: future.result().offset for tp, future in futures.items()}


def sink_prefix(outputs: Mapping[str, Any], topic: str) -> str:
    return f"{outputs['s3_sink']['prefix'].strip('/')}/{topic}/"


def read_sink_records(
    outputs: dict[str, Any],
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
        objects = sorted((o for o in page.get("Contents", []) if o["Key"].endswith(OBJECT_SUFFIXES)), key=_name)
        for obj in objects:
            if written_since is not None and obj["LastModified"] < written_since:
                continue
            partition, first = _offsets_of(obj["Key"])
            floor = (since or {}).get(partition, 0)
            body = _lines_of(obj["Key"], s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
            folder = obj["Key"].rsplit("/", 1)[0]
            for i, line in enumerate(body.splitlines()):
                if first + i >= floor and line.strip():
                    # objects of one folder never overlap unless a batch was re-cut: then the later one wins
                    record = SinkRecord(partition, first + i, obj["Key"], json.loads(line))
                    records[(partition, first + i, folder)] = record
    return [records[k] for k in sorted(records)]


OBJECT_SUFFIXES = (".json", ".json.gz")


def _name(obj: Mapping[str, Any]) -> tuple[int, int, str]:
    """Objects in offset order whatever their folders (time partitions sort by time, not by offset)."""
    return (*_offsets_of(obj["Key"]), obj["Key"])


def _offsets_of(key: str) -> tuple[int, int]:
    """`.../cards-data+2+0000000042.json[.gz]` -> (2, 42)."""
    stem = key.rsplit("/", 1)[-1].removesuffix(".gz").removesuffix(".json")
    try:
        _topic, partition, offset = stem.rsplit("+", 2)
        return int(partition), int(offset)
    except ValueError:
        raise SinkError(f"{key}: not an S3 sink object name (<topic>+<partition>+<start offset>.json)") from None


def _lines_of(key: str, body: bytes) -> bytes:
    if not key.endswith(".gz"):
        return body
    try:
        return gzip.decompress(body)
    except (OSError, EOFError) as exc:
        raise SinkError(f"{key}: not a gzip object ({exc})") from None


def wait_for_records(
    outputs: dict[str, Any],
    topic: str,
    n: int,
    timeout: float = 120.0,
    since: Mapping[int, int] | None = None,
    on_progress: Callable[[int], None] | None = None,
    written_since: datetime | None = None,
) -> list[SinkRecord]:
    """Poll the bucket until at least `n` records (as read_sink_records selects them) of `topic` are there;
    raise on timeout."""
    s3 = s3_client(outputs)
    deadline = time.monotonic() + timeout
    while True:
        records = read_sink_records(outputs, topic, since, s3, written_since)
        if on_progress:
            on_progress(len(records))
        if len(records) >= n:
            return records
        if time.monotonic() >= deadline:
            raise SinkError(
                f"only {len(records)} of {n} records of {topic!r} reached "
                f"s3://{outputs['s3_sink']['bucket']}/{sink_prefix(outputs, topic)} within {timeout:.0f}s"
            )
        time.sleep(1.0)
