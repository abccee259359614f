"""The S3 sink tests' substrate (devstack's moto, Kafka and Connect) and a fresh topic with its own connector."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _s3_sinks import Sink

from components.connect.client import ConnectClient, basic_auth


@pytest.fixture(scope="module")
def substrate(devstack: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return devstack("moto", "kafka", "connect")


@pytest.fixture
def sink(substrate: dict[str, Any]) -> Iterator[Sink]:
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"s3-sink-test-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": substrate["kafka_bootstrap_servers"]})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
    client = ConnectClient(
        substrate["kafka_connect_url"], auth=basic_auth(substrate["kafka_connect_auth"]), timeout_s=30.0
    )
    made = Sink(substrate, topic, f"s3-sink-{topic[-8:]}", client)
    yield made
    client.delete(made.name)
    admin.delete_topics([topic])
