"""Waiting for what the S3 sink connector writes of the streaming topics into the landing bucket.

The connector itself (`s3_sink.connector` in the outputs, the seed's `s3-sink-kde`) is created by the stack
(a Pulumi dynamic resource, components/connect/), never here.

Where the sink writes and how its objects are read back: contract.lake_layout and contract.lake_readers
(`read_sink_records`); this module waits for them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from contract.clients import kafka_config, s3_client
from contract.lake_layout import SinkError
from contract.lake_readers import SinkRecord, read_sink_records, sink_prefix

__all__ = ["SinkError", "SinkRecord", "end_offsets", "read_sink_records", "sink_prefix", "wait_for_records"]


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


def wait_for_records(
    outputs: Mapping[str, Any],
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
