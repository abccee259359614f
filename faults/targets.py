"""Counting what a trial's target holds: a load target of its own per trial (collection, table, topic offsets),
polled while a load runs and tallied after, and the lake once the S3 sink has settled."""

from __future__ import annotations

import time
import uuid
from typing import Any

from faults import tally
from faults.tally import Tally
from faults.trial import DATASET
from pipelines.streaming.sink import end_offsets


class LoadTarget:
    """One sink's private target for a trial and how to count it."""

    def __init__(self, target: str, outputs: dict[str, Any]) -> None:
        self.target, self.outputs = target, outputs
        self.name = ""
        self.since: dict[int, int] = {}

    def prepare(self) -> dict[str, Any]:
        """Outputs naming an empty target: a collection of its own (MongoDB, Firestore), the dataset's table
        emptied (DynamoDB: devstack provisions the tables), the topic's offsets now (Kafka)."""
        mine = {**self.outputs}
        if self.target in ("mongodb", "firestore"):
            key = f"{self.target}_collections"
            self.name = f"faults-{DATASET}-{uuid.uuid4().hex[:8]}"
            mine[key] = {**self.outputs[key], DATASET: self.name}
        elif self.target == "dynamodb":
            tally.delete_dynamodb(self.outputs, DATASET)
        else:
            self.name = self.outputs["kafka_topics"][DATASET]
            self.since = end_offsets(self.outputs, self.name)
        return mine

    def held(self) -> int:
        """Records the target holds now (polled while a load runs, so the kill lands at a point of its writes)."""
        if self.target == "mongodb":
            return tally.mongodb_count(self.outputs, self.name)
        if self.target == "firestore":
            return tally.firestore_count(self.outputs, self.name)
        if self.target == "dynamodb":
            return tally.dynamodb_count(self.outputs, DATASET)
        return len(set(tally.kafka_keys(self.outputs, self.name, self.since)))

    def count(self, keys: set[str]) -> Tally:
        if self.target == "mongodb":
            return tally.tally(keys, tally.mongodb_keys(self.outputs, self.name))
        if self.target == "firestore":
            return tally.tally(keys, tally.firestore_keys(self.outputs, self.name, keys))
        if self.target == "dynamodb":
            return tally.tally(keys, tally.dynamodb_keys(self.outputs, DATASET))
        return tally.tally(keys, tally.kafka_keys(self.outputs, self.name, self.since))

    def clean(self) -> None:
        if self.target == "mongodb":
            tally.drop_mongodb(self.outputs, self.name)


def wait_for_lake(
    outputs: dict[str, Any],
    topic: str,
    dataset: str,
    since: dict[int, int],
    expected: int,
    timeout: float,
    written_since: float = 0.0,
) -> list[str]:
    """The lake's keys once it holds `expected` records and two reads 5 s apart agree (re-deliveries after a
    restart land a while later), or at `timeout`."""
    deadline = time.monotonic() + timeout
    found = tally.lake_keys(outputs, topic, dataset, since, written_since)
    while time.monotonic() < deadline:
        time.sleep(5)
        again = tally.lake_keys(outputs, topic, dataset, since, written_since)
        if len(again) >= expected and len(again) == len(found):
            return again
        found = again
    return found


def sink_committed(outputs: dict[str, Any], topic: str) -> dict[int, int]:
    """The S3 sink's committed offset of each partition of `topic` (Connect's consumer group of the connector):
    where a restarted worker resumes."""
    from confluent_kafka import ConsumerGroupTopicPartitions
    from confluent_kafka.admin import AdminClient

    from contract.clients import kafka_config

    group = f"connect-{outputs['s3_sink']['connector']}"
    admin = AdminClient(kafka_config(outputs))
    try:
        future = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)], request_timeout=10)[group]
        partitions = future.result().topic_partitions or []
    finally:
        del admin  # at once, not by the garbage collector through a failed future's traceback
    return {tp.partition: tp.offset for tp in partitions if tp.topic == topic and tp.offset >= 0}


def wait_for_sink_settled(outputs: dict[str, Any], topic: str, timeout: float = 120.0) -> None:
    """Until the S3 sink has committed every record now on `topic`, so a case that kills the worker starts on a
    sink that is not still catching up on an earlier case's records (a replay over those belongs to that case)."""
    ends = end_offsets(outputs, topic)
    deadline = time.monotonic() + timeout
    while True:
        committed = sink_committed(outputs, topic)
        behind = {p: end for p, end in ends.items() if committed.get(p, 0) < end}
        if not behind:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the S3 sink has not committed {topic} up to {behind} after {timeout:.0f}s")
        time.sleep(1)
