"""devstack's S3 sink tests' shared pieces: a fresh topic with its own connector (`Sink`), the records they send,
and the sink's committed offset. The fixtures that make them: conftest.py."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from typing import Any

from test_connect import sink_config

from components.connect.client import ConnectClient
from contract import naming
from contract.clients import s3_client

TIME_PARTITIONER = "io.confluent.connect.storage.partitioner.TimeBasedPartitioner"


@dataclass
class Sink:
    """A fresh topic and its own connector (devstack's plugin, the contract's config plus `overrides`)."""

    substrate: dict[str, Any]
    topic: str
    name: str
    client: ConnectClient

    @property
    def prefix(self) -> str:
        return f"{naming.S3_SINK_PREFIX}/{self.topic}/"

    @property
    def bucket(self) -> str:
        return str(self.substrate["s3_buckets"]["landing"])

    def start(self, **overrides: str) -> None:
        config = {**sink_config(self.substrate, self.topic), **overrides}
        self.client.ensure(self.name, config, timeout_s=90)

    def produce(self, values: list[bytes], timestamps: list[int] | None = None, partition: int = 0) -> None:
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": self.substrate["kafka_bootstrap_servers"], "linger.ms": 5})
        for i, value in enumerate(values):
            # timestamp 0: the producer's clock (librdkafka's default)
            timestamp = timestamps[i] if timestamps else 0
            producer.produce(self.topic, value=value, key=str(i), partition=partition, timestamp=timestamp)
        assert producer.flush(30) == 0

    def objects(self) -> dict[str, dict[str, Any]]:
        s3 = s3_client(self.substrate)
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        return {o["Key"]: o for page in pages for o in page.get("Contents", [])}

    def lines(self, key: str) -> list[dict[str, Any]]:
        body = s3_client(self.substrate).get_object(Bucket=self.bucket, Key=key)["Body"].read()
        if key.endswith(".gz"):
            body = gzip.decompress(body)
        return [json.loads(line) for line in body.splitlines()]

    def ids(self) -> list[int]:
        """Every record id in every object: a record written twice is counted twice."""
        return [line["id"] for key in self.objects() for line in self.lines(key)]

    def outputs(self) -> dict[str, Any]:
        """What contract.lake_readers reads: the substrate plus the stack's s3_sink entry for this bucket."""
        return {**self.substrate, "s3_sink": {"bucket": self.bucket, "prefix": naming.S3_SINK_PREFIX}}


def doc(i: int, **fields: Any) -> bytes:
    return json.dumps({"id": i, **fields}).encode()


def committed_offset(substrate: dict[str, Any], connector: str, topic: str) -> int:
    """The sink's committed offset of partition 0 (-1: none yet); its consumer group is `connect-<name>`."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": substrate["kafka_bootstrap_servers"]})
    request = ConsumerGroupTopicPartitions(f"connect-{connector}", [TopicPartition(topic, 0)])
    answer = admin.list_consumer_group_offsets([request])[f"connect-{connector}"].result(10)
    return int(answer.topic_partitions[0].offset)
