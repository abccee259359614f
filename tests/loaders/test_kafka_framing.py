"""The Kafka load frames values itself after the first record (loaders.sinks.kafka): every value on the topic
must be the very bytes confluent-kafka's JSONSerializer writes for that record, against the real registry."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from loaders.sinks.kafka import RecordRejected, SchemaRegistryJsonProducer
from schemas import load as load_schema

pytestmark = pytest.mark.devstack

#: values the encoder could write differently: non-ASCII text, floats, a negative amount, an empty string
TRICKY = {"merchant_city": "Zürich ☃", "amount": -0.1, "errors": "", "zip": "01234"}


def _records(count: int) -> list[dict[str, Any]]:
    base = {"id": 0, "date": "2010-01-01T00:01:00", "client_id": 1, "card_id": 2, "amount": 12.5,
            "use_chip": "Swipe Transaction", "merchant_id": 3, "merchant_city": "Beulah", "merchant_state": "ND",
            "zip": "58523", "mcc": 5499, "errors": None}  # fmt: skip
    return [{**base, "id": n, **(TRICKY if n % 2 else {})} for n in range(1, count + 1)]


def _values(outputs: dict[str, Any], topic: str, count: int) -> dict[bytes, bytes]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": outputs["kafka_bootstrap_servers"], "group.id": uuid.uuid4().hex})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    values: dict[bytes, bytes] = {}
    for _ in range(60):
        for msg in consumer.consume(1000, timeout=1.0):
            if msg.error() is None:
                values[msg.key() or b""] = msg.value() or b""
        if len(values) >= count:
            break
    consumer.close()
    return values


def test_every_value_is_the_serializers_own_bytes(platform: Any) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.json_schema import JSONSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    outputs = platform("kafka", "registry")
    topic = f"test-framing-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": outputs["kafka_bootstrap_servers"]})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(timeout=30)
    schema = load_schema("transactions")
    records = _records(50)
    with SchemaRegistryJsonProducer(
        outputs["kafka_bootstrap_servers"], outputs["schema_registry_url"], topic, schema
    ) as producer:
        for record in records:
            assert producer.send(record)
        with pytest.raises(RecordRejected, match="not encodable"):  # beyond orjson's 64 bits: refused, not sent
            producer.send({**records[0], "id": 10**30, "mcc": 2**70}, validated=True)
    serializer = JSONSerializer(
        schema.registry_text(),
        SchemaRegistryClient({"url": outputs["schema_registry_url"]}),
        conf={"auto.register.schemas": True, "validate": False},
    )
    context = SerializationContext(topic, MessageField.VALUE)
    on_topic = _values(outputs, topic, len(records))
    assert on_topic == {schema.document_id(r).encode(): serializer(r, context) for r in records}


def test_a_load_finds_the_stacks_schema_version_and_adds_none(platform: Any) -> None:
    """The stack owns the subject: a load registers the very text the stack declared, so the registry answers with
    the stack's id and keeps its versions as they were (before, every first load added a version with the same
    schema in another text, and `make preview` then showed the subject drifting)."""
    import requests

    from contract import naming

    outputs = platform("kafka", "registry")
    topic = outputs["kafka_topics"]["transactions"]
    url = f"{outputs['schema_registry_url']}/subjects/{naming.schema_subject(topic)}/versions"
    before = requests.get(url, timeout=10).json()
    stack_id = requests.get(f"{url}/latest", timeout=10).json()["id"]
    with SchemaRegistryJsonProducer(
        outputs["kafka_bootstrap_servers"], outputs["schema_registry_url"], topic, load_schema("transactions")
    ) as producer:
        assert producer.send(_records(1)[0])
    assert requests.get(url, timeout=10).json() == before
    assert requests.get(f"{url}/latest", timeout=10).json()["id"] == stack_id
