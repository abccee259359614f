"""Kafka broker (devstack, KRaft): a record serialized through the schema registry goes in and comes back."""

from __future__ import annotations

import time
from typing import Any

import pytest
from _streaming_records import cards_record, cards_schema_str, unique_topic

from contract import naming

pytestmark = pytest.mark.devstack


def test_produce_consume_sr_serialized_json(devstack: Any) -> None:
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer

    outputs = devstack("kafka", "registry")
    bootstrap = outputs["kafka_bootstrap_servers"]
    topic = unique_topic("devstack-kafka-test")
    registry = SchemaRegistryClient({"url": outputs["schema_registry_url"]})
    serialize = JSONSerializer(cards_schema_str(), registry)  # auto-registers <topic>-value
    deserialize = JSONDeserializer(cards_schema_str(), schema_registry_client=registry)
    record = cards_record(4524)

    producer = Producer({"bootstrap.servers": bootstrap})
    ctx = SerializationContext(topic, MessageField.VALUE)
    producer.produce(topic, key=StringSerializer()(str(record["id"])), value=serialize(record, ctx))
    assert producer.flush(15) == 0, "record not delivered"

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"{topic}-reader", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    try:
        msg = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None and not msg.error():
                break
        assert msg is not None and not msg.error(), "no record consumed within 30s"
    finally:
        consumer.close()

    value = msg.value()
    assert value is not None
    assert value[:1] == b"\x00", "value lacks the schema registry wire-format magic byte"
    assert msg.key() == b"4524"
    assert deserialize(value, SerializationContext(topic, MessageField.VALUE)) == record
    # the serializer registered the value schema under the TopicNameStrategy subject
    assert naming.schema_subject(topic) in registry.get_subjects()


def test_serializer_rejects_a_record_that_breaks_the_schema(devstack: Any) -> None:
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.json_schema import JSONSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

    outputs = devstack("kafka", "registry")
    registry = SchemaRegistryClient({"url": outputs["schema_registry_url"]})
    serialize = JSONSerializer(cards_schema_str(), registry)
    bad = {**cards_record(1), "cvv": "not a number"}
    with pytest.raises(SerializationError):
        serialize(bad, SerializationContext(unique_topic("devstack-bad"), MessageField.VALUE))
