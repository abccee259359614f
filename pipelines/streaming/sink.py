"""Reading back what the S3 sink connector wrote of the streaming topics into the landing bucket.

The connector itself (`s3_sink.connector` in the outputs, the seed's `s3-sink-kde`) is created by the stack
(a Pulumi dynamic resource, components/connect/), never here.

Where the sink writes (devstack and Confluent's DefaultPartitioner alike):
`s3://<s3_sink.bucket>/<s3_sink.prefix>/<topic>/partition=<p>/<topic>+<p>+<first offset:010d>.json`, one JSON
document per line, so every record's partition and offset are known from the object name and line number.
"""

from __future__ import annotations

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
    """The next offset of every partition of `topic`: records produced after this call have offsets >= these."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(kafka_config(outputs, **{"group.id": "pipelines-offsets", "enable.auto.commit": False}))
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = metadata.topics[topic].partitions if topic in metadata.topics else {}
        offsets = {}
        for p in partitions:
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            offsets[p] = high
        return offsets
    finally:
        consumer.close()


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
    records: dict[tuple[int, int], SinkRecord] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=sink_prefix(outputs, topic)):
        objects = sorted((o for o in page.get("Contents", []) if o["Key"].endswith(".json")), key=lambda o: o["Key"])
        for obj in objects:
            if written_since is not None and obj["LastModified"] < written_since:
                continue
            partition, first = _offsets_of(obj["Key"])
            floor = (since or {}).get(partition, 0)
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            for i, line in enumerate(body.splitlines()):
                if first + i >= floor and line.strip():
                    # a re-delivered batch rewrites the same object name: keyed by (partition, offset), no doubles
                    records[(partition, first + i)] = SinkRecord(partition, first + i, obj["Key"], json.loads(line))
    return [records[k] for k in sorted(records)]


def _offsets_of(key: str) -> tuple[int, int]:
    """`.../cards-data+2+0000000042.json` -> (2, 42)."""
    stem = key.rsplit("/", 1)[-1].removesuffix(".json")
    _topic, partition, offset = stem.rsplit("+", 2)
    return int(partition), int(offset)


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
