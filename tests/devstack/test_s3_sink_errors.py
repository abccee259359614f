"""devstack's S3 sink against the real Connect worker, Kafka and moto, held to Confluent's S3 sink promises on what
it refuses: Connect's dead-letter topic for records the converter cannot read, tombstones skipped or failing the
task by name, and a config validator (and the connector resource's check) that names the offending key."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from _s3_sinks import TIME_PARTITIONER, Sink, doc
from test_connect import sink_config, wait_for

from components.connect.client import ConnectClient, basic_auth
from components.connect.provider import ConnectorProvider
from devstack.services.connect import S3_SINK_CLASS

pytestmark = pytest.mark.devstack


def test_a_poison_record_goes_to_the_dead_letter_topic_and_the_rest_land(sink: Sink) -> None:
    from confluent_kafka import Consumer
    from confluent_kafka.admin import AdminClient, NewTopic

    dlq = f"{sink.topic}-dlq"
    admin = AdminClient({"bootstrap.servers": sink.substrate["kafka_bootstrap_servers"]})
    admin.create_topics([NewTopic(dlq, num_partitions=1, replication_factor=1)])[dlq].result(30)
    try:
        sink.start(
            **{
                "flush.size": "3",
                "errors.tolerance": "all",
                "errors.deadletterqueue.topic.name": dlq,
                "errors.deadletterqueue.topic.replication.factor": "1",
                "errors.deadletterqueue.context.headers.enable": "true",
            }
        )
        poison = b"{not json"
        sink.produce([doc(0), doc(1), poison, doc(2), doc(3), doc(4), doc(5)])
        wait_for(lambda: len(sink.ids()) == 6, 60, "the 6 good records")
        assert sorted(sink.ids()) == list(range(6))

        consumer = Consumer(
            {
                "bootstrap.servers": sink.substrate["kafka_bootstrap_servers"],
                "group.id": f"dlq-reader-{uuid.uuid4().hex[:6]}",
                "auto.offset.reset": "earliest",
            }
        )
        consumer.subscribe([dlq])
        try:
            message = wait_for(lambda: consumer.poll(1.0), 30, f"a record in {dlq}")
        finally:
            consumer.close()
        assert message.value() == poison
        headers = dict(message.headers() or [])
        assert headers["__connect.errors.topic"] == sink.topic.encode()
        assert headers["__connect.errors.offset"] == b"2"
        assert b"DataException" in headers["__connect.errors.exception.class.name"]
    finally:
        admin.delete_topics([dlq])


def _produce_with_tombstones(sink: Sink, values: list[bytes | None]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": sink.substrate["kafka_bootstrap_servers"]})
    for value in values:
        producer.produce(sink.topic, value=value, key="k", partition=0)
    assert producer.flush(30) == 0


def test_tombstones_are_skipped_with_behavior_on_null_values_ignore(sink: Sink) -> None:
    sink.start(**{"flush.size": "3", "behavior.on.null.values": "ignore"})
    _produce_with_tombstones(sink, [doc(0), None, doc(1), doc(2)])
    objects = wait_for(lambda: sink.objects(), 60, "an object")
    assert list(objects) == [f"{sink.prefix}partition=0/{sink.topic}+0+0000000000.json"]
    assert sink.ids() == [0, 1, 2]


def test_a_tombstone_fails_the_task_by_default_naming_the_record(sink: Sink) -> None:
    config = sink_config(sink.substrate, sink.topic)
    plugin_default = {k: v for k, v in config.items() if k != "behavior.on.null.values"}  # Confluent's: fail
    sink.client.ensure(sink.name, plugin_default, timeout_s=90)
    _produce_with_tombstones(sink, [doc(0), None])

    def failed_task_trace() -> str:
        tasks = sink.client.status(sink.name).get("tasks", [])
        return next((t.get("trace", "") for t in tasks if t.get("state") == "FAILED"), "")

    trace = wait_for(failed_task_trace, 60, "the task to fail on the tombstone")
    assert f"record {sink.topic}/0@1 has a null value (a tombstone) and behavior.on.null.values=fail" in trace


def _validate(substrate: dict[str, Any], config: dict[str, str]) -> dict[str, list[str]]:
    client = ConnectClient(substrate["kafka_connect_url"], auth=basic_auth(substrate["kafka_connect_auth"]))
    errors: dict[str, list[str]] = {}
    for error in client.validate(S3_SINK_CLASS, {**config, "name": "validate-only"}):
        errors.setdefault(error.field, []).append(error.message)
    return errors


def test_the_validator_names_an_unknown_key_and_a_wrong_typed_one(substrate: dict[str, Any]) -> None:
    config = sink_config(substrate, "cards-data")
    assert _validate(substrate, config) == {}, "the contract's own config is valid"

    errors = _validate(substrate, {**config, "flush.sise": "3", "rotate.schedule.interval.ms": "soon"})
    assert set(errors) == {"flush.sise", "rotate.schedule.interval.ms"}
    assert "unknown key" in errors["flush.sise"][0]
    assert "LONG" in errors["rotate.schedule.interval.ms"][0]

    errors = _validate(substrate, {**config, "s3.part.size": "5242880"})
    assert errors == {"s3.part.size": [errors["s3.part.size"][0]]}
    assert "Confluent's S3 sink that devstack's S3 sink does not implement" in errors["s3.part.size"][0]

    time_based = {**config, "partitioner.class": TIME_PARTITIONER, "behavior.on.null.values": "write"}
    errors = _validate(substrate, time_based)
    assert {"path.format", "partition.duration.ms", "locale", "timezone", "behavior.on.null.values"} <= set(errors)


def test_the_connector_resource_check_fails_at_preview_naming_the_field(substrate: dict[str, Any]) -> None:
    config = {**sink_config(substrate, "cards-data"), "flush.size": "three", "s3.bucket.nme": "typo"}
    news = {
        "name": "s3-sink-kde",
        "connect_url": substrate["kafka_connect_url"],
        "connect_auth": substrate["kafka_connect_auth"],
        "config": config,
        "secret_config": {},
    }
    failures: dict[str, str] = {}
    for failure in ConnectorProvider().check({}, news).failures:
        failures[failure.property] = failures.get(failure.property, "") + failure.reason
    assert set(failures) == {"config.flush.size", "config.s3.bucket.nme"}
    assert "Not a number of type INT" in failures["config.flush.size"]
    assert "unknown key" in failures["config.s3.bucket.nme"]
