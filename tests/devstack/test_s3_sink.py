"""devstack's S3 sink against the real Connect worker, Kafka and moto, held to Confluent's S3 sink promises: object
names that a re-delivery after a worker crash rewrites (each record once in the lake), wall-clock rotation that
lands the last records without more arriving, Connect's dead-letter topic for records the converter cannot read,
the time-based partitioner's folders, gzip objects, a config validator that names the offending key, and a task
that outlives S3 being stopped (or its buckets missing) and lands every record once when S3 is back."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from test_connect import sink_config, wait_for

from components.connect.client import ConnectClient, basic_auth
from components.connect.provider import ConnectorProvider
from contract import naming
from contract.clients import s3_client
from contract.lake_layout import parse_sink_object_name
from contract.lake_readers import read_sink_records
from devstack import services
from devstack.config import DevstackConfig
from devstack.service import Service
from devstack.services.connect import S3_SINK_CLASS, KafkaConnect

pytestmark = pytest.mark.devstack

TIME_PARTITIONER = "io.confluent.connect.storage.partitioner.TimeBasedPartitioner"


@pytest.fixture(scope="module")
def substrate(devstack: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return devstack("moto", "kafka", "connect")


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


def test_a_worker_killed_mid_stream_rewrites_the_same_objects_so_each_record_is_in_the_lake_once(
    sink: Sink,
) -> None:
    sink.start(**{"flush.size": "10"})
    sink.produce([doc(i) for i in range(505)])
    # 5 records stay in memory (no 10th yet): the commit stops at the last object's end, not at what was read
    wait_for(lambda: committed_offset(sink.substrate, sink.name, sink.topic) >= 500, 30, "an offset commit")
    assert committed_offset(sink.substrate, sink.name, sink.topic) == 500

    sink.produce([doc(i) for i in range(505, 1505)])
    ahead = None
    deadline = time.monotonic() + 60
    while ahead is None and time.monotonic() < deadline:  # no sleep: kill while objects are ahead of the commit
        objects, committed = sink.objects(), committed_offset(sink.substrate, sink.name, sink.topic)
        if max(_start_offset(k) for k in objects) >= committed:
            ahead = objects
    assert ahead is not None, "the sink wrote nothing past its committed offset"
    connect = KafkaConnect(DevstackConfig.from_env())
    assert connect.kill(), "the Connect worker was not running"  # SIGKILL: no shutdown hook, no last commit
    sink.produce([doc(i) for i in range(1505, 2000)])  # the stream goes on while the worker is down
    connect.start()

    wait_for(lambda: len(sink.objects()) == 200, 180, "200 objects of 10 records after the restart")
    assert sorted(sink.ids()) == list(range(2000)), "each record exactly once in the lake"
    after = sink.objects()
    assert set(after) == {f"{sink.prefix}partition=0/{sink.topic}+0+{o:010d}.json" for o in range(0, 2000, 10)}
    # what S3 held past the committed offset was re-delivered but not written again (read back from its metadata)
    assert all(
        after[k]["ETag"] == ahead[k]["ETag"] and after[k]["LastModified"] == ahead[k]["LastModified"] for k in ahead
    )


def test_a_worker_killed_under_wall_clock_rotation_leaves_each_record_once_in_the_lake(sink: Sink) -> None:
    """Wall-clock rotation cuts a re-delivered batch elsewhere than the crashed run did (Confluent's sink loses
    exactly-once there); skipping the records of the batches S3 holds whole keeps the lake exact anyway."""
    sink.start(**{"flush.size": "100000", "rotate.schedule.interval.ms": "500", "timezone": "UTC"})
    sink.produce([doc(i) for i in range(300)])
    wait_for(lambda: len(sink.ids()) == 300, 30, "the first 300 records in the lake")
    connect = KafkaConnect(DevstackConfig.from_env())
    for round_ in range(3):  # kills while a stream runs: some batches are in S3 but their offsets uncommitted
        start = 300 + round_ * 400
        sink.produce([doc(i) for i in range(start, start + 200)])
        assert connect.kill(), "the Connect worker was not running"
        sink.produce([doc(i) for i in range(start + 200, start + 400)])
        connect.start()
    wait_for(lambda: len(sink.ids()) >= 1500, 120, "1,500 records in the lake after three restarts")
    time.sleep(2)  # a late duplicate would land within a rotation or two
    assert sorted(sink.ids()) == list(range(1500)), "each record exactly once in the lake"


def test_a_recreated_topic_is_written_again_though_its_predecessor_left_objects_at_the_same_offsets(
    sink: Sink,
) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    sink.start(**{"flush.size": "10"})
    sink.produce([doc(i) for i in range(50)])
    wait_for(lambda: len(sink.ids()) == 50, 30, "the first incarnation's 50 records")
    sink.client.delete(sink.name)
    admin = AdminClient({"bootstrap.servers": sink.substrate["kafka_bootstrap_servers"]})
    admin.delete_topics([sink.topic])[sink.topic].result(30)
    wait_for(lambda: sink.topic not in admin.list_topics(timeout=10).topics, 30, "the topic deleted")
    admin.create_topics([NewTopic(sink.topic, num_partitions=1, replication_factor=1)])[sink.topic].result(30)
    time.sleep(1)  # the new records are produced after the old objects were written
    sink.produce([doc(i) for i in range(1000, 1030)])
    sink.start(**{"flush.size": "10"})
    wait_for(lambda: 1029 in sink.ids(), 60, "the new incarnation's records in the lake")
    assert sorted(i for i in sink.ids() if i >= 1000) == list(range(1000, 1030))


def _start_offset(key: str) -> int:
    return parse_sink_object_name(key).start_offset


def test_the_last_records_land_within_the_scheduled_rotation_without_more_arriving(sink: Sink) -> None:
    interval_ms = 3000
    sink.start(**{"flush.size": "1000", "rotate.schedule.interval.ms": str(interval_ms), "timezone": "UTC"})
    sink.produce([doc(-1)])  # warm-up: the task has joined its group and polls
    wait_for(lambda: sink.ids() == [-1], 60, "the warm-up record")

    sink.produce([doc(i) for i in range(5)])
    sent = time.monotonic()
    wait_for(lambda: sorted(sink.ids()) == [-1, 0, 1, 2, 3, 4], (interval_ms + 2000) / 1000, "the last 5 records")
    assert time.monotonic() - sent <= (interval_ms + 2000) / 1000


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


def _epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


HOUR_3, HOUR_4 = _epoch_ms("2026-01-02T03:10:00+00:00"), _epoch_ms("2026-01-02T04:15:00+00:00")


@pytest.mark.parametrize("extractor", ["Record", "RecordField"])
def test_the_time_partitioner_writes_path_format_folders_by_record_time(sink: Sink, extractor: str) -> None:
    sink.start(
        **{
            "flush.size": "4",
            "partitioner.class": TIME_PARTITIONER,
            "path.format": "'dt'=YYYY-MM-dd/'hour'=HH",
            "partition.duration.ms": "3600000",
            "locale": "en-US",
            "timezone": "UTC",
            "timestamp.extractor": extractor,
            "timestamp.field": "ts",
        }
    )
    times = [HOUR_3, HOUR_3 + 60_000, HOUR_4, HOUR_3 + 120_000]
    # RecordField reads the value's `ts` (ISO-8601); the Kafka timestamps then say another day entirely
    values = [doc(i, ts=_iso(t)) for i, t in enumerate(times)]
    kafka_times = times if extractor == "Record" else [t + 86_400_000 for t in times]
    sink.produce(values, timestamps=kafka_times)

    objects = wait_for(lambda: len(sink.objects()) == 2 and sink.objects(), 60, "two time-partition objects")
    three = f"{sink.prefix}dt=2026-01-02/hour=03/{sink.topic}+0+0000000000.json"
    four = f"{sink.prefix}dt=2026-01-02/hour=04/{sink.topic}+0+0000000002.json"
    assert set(objects) == {three, four}
    assert [line["id"] for line in sink.lines(three)] == [0, 1, 3]
    assert [line["id"] for line in sink.lines(four)] == [2]
    records = read_sink_records(sink.outputs(), sink.topic)
    assert sorted(r.value["id"] for r in records) == [0, 1, 2, 3], "the reader finds every record once"


def test_the_daily_partitioner_with_wallclock_files_records_under_the_workers_date(sink: Sink) -> None:
    sink.start(
        **{
            "flush.size": "1",
            "partitioner.class": "io.confluent.connect.storage.partitioner.DailyPartitioner",
            "locale": "en-US",
            "timezone": "UTC",
            "timestamp.extractor": "Wallclock",
        }
    )
    before = datetime.now(UTC)
    sink.produce([doc(0)], timestamps=[HOUR_3])  # the record's own time is ignored
    objects = wait_for(lambda: sink.objects(), 60, "an object")
    after = datetime.now(UTC)
    folders = {sink.prefix + t.strftime("year=%Y/month=%m/day=%d") for t in (before, after)}
    assert {key.rsplit("/", 1)[0] for key in objects} <= folders


def test_rotate_interval_cuts_objects_by_record_time_not_by_the_clock(sink: Sink) -> None:
    sink.start(
        **{
            "flush.size": "100",
            "rotate.interval.ms": "2000",
            "partitioner.class": TIME_PARTITIONER,
            "path.format": "'dt'=YYYY-MM-dd",
            "partition.duration.ms": "86400000",
            "locale": "en-US",
            "timezone": "UTC",
            "timestamp.extractor": "Record",
        }
    )
    # 0 and 1 within 2 s of record time; 2 is 3 s past 0 and starts an object; 3, 5 s past 2, rotates that one
    times = [HOUR_3, HOUR_3 + 1_000, HOUR_3 + 3_000, HOUR_3 + 8_000]
    sink.produce([doc(i) for i in range(4)], timestamps=times)
    folder = f"{sink.prefix}dt=2026-01-02/{sink.topic}+0+"
    objects = wait_for(lambda: len(sink.objects()) == 2 and sink.objects(), 60, "two objects")
    assert set(objects) == {f"{folder}0000000000.json", f"{folder}0000000002.json"}
    assert [line["id"] for line in sink.lines(f"{folder}0000000000.json")] == [0, 1]
    assert [line["id"] for line in sink.lines(f"{folder}0000000002.json")] == [2]
    time.sleep(3)  # the clock moves on, record time does not: 3 stays open (no rotate.schedule.interval.ms)
    assert len(sink.objects()) == 2


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


def _iso(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch_ms / 1000))


def test_gzip_objects_are_named_json_gz_and_read_back(sink: Sink) -> None:
    sink.start(**{"flush.size": "2", "s3.compression.type": "gzip"})
    sink.produce([doc(i, text="x" * 200) for i in range(4)])
    objects = wait_for(lambda: len(sink.objects()) == 2 and sink.objects(), 60, "two gzip objects")
    assert set(objects) == {f"{sink.prefix}partition=0/{sink.topic}+0+{o:010d}.json.gz" for o in (0, 2)}
    assert all(o["Size"] < 2 * 200 for o in objects.values()), "the objects are compressed"
    records = read_sink_records(sink.outputs(), sink.topic)
    assert [(r.offset, r.value["id"]) for r in records] == [(0, 0), (1, 1), (2, 2), (3, 3)]


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


def _s3_server() -> Service:
    """devstack's S3 server (the service publishing `endpoints.s3`), to stop and start under a running sink."""
    return services.make("moto", DevstackConfig.from_env())


def _running_throughout(sink: Sink, seconds: float) -> None:
    """The connector's task is RUNNING at every look for `seconds` (the worker kills a task for good on a fatal
    error: it would show FAILED within a retry or two)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = sink.client.status(sink.name)
        states = [t["state"] for t in status.get("tasks", [])]
        assert states == ["RUNNING"], f"the S3 sink's task is not running while S3 is away: {status}"
        time.sleep(0.5)


def test_s3_stopped_under_a_running_sink_and_back_without_its_buckets_leaves_the_task_running_and_each_record_once(
    sink: Sink,
) -> None:
    sink.start(**{"flush.size": "10", "retry.backoff.ms": "500"})
    sink.produce([doc(i) for i in range(50)])
    wait_for(lambda: committed_offset(sink.substrate, sink.name, sink.topic) == 50, 60, "the first 50 committed")
    s3 = _s3_server()
    try:
        assert s3.stop(), "the S3 server was not running"
        sink.produce([doc(i) for i in range(50, 100)])
        _running_throughout(sink, 8)  # every put fails: S3 refuses connections
        assert committed_offset(sink.substrate, sink.name, sink.topic) == 50, "nothing committed past S3"
        s3.start()  # an empty S3: the bucket is missing until devstack provisions it
        # a restarted task opens its partition now (Connect kills a task whose open() throws)
        restart = sink.client.request("POST", f"/connectors/{sink.name}/tasks/0/restart")
        assert restart.status_code in (200, 202, 204), restart.text
        sink.client.wait_running(sink.name, timeout_s=60, poll_s=0.5)
        _running_throughout(sink, 6)
    finally:
        s3.start()
        s3.provision()
    wait_for(lambda: len([i for i in sink.ids() if i >= 50]) >= 50, 60, "the records produced while S3 was away")
    time.sleep(2)  # a late duplicate would land within a retry or two
    ids = sink.ids()
    assert sorted(i for i in ids if i >= 50) == list(range(50, 100)), "each record exactly once in the lake"
    # an in-memory S3 server restarts empty; a durable one still holds the first 50, each once
    assert sorted(i for i in ids if i < 50) in ([], list(range(50)))
    wait_for(lambda: committed_offset(sink.substrate, sink.name, sink.topic) == 100, 30, "all 100 committed")


def test_a_sink_started_while_s3_is_down_runs_and_lands_each_record_once_when_s3_is_back(sink: Sink) -> None:
    """Connect kills a task whose open() throws; the task reads S3 back with its first records instead, and
    retries there."""
    sink.produce([doc(i) for i in range(30)])
    s3 = _s3_server()
    try:
        assert s3.stop(), "the S3 server was not running"
        sink.start(**{"flush.size": "10", "retry.backoff.ms": "500"})
        _running_throughout(sink, 8)
        assert committed_offset(sink.substrate, sink.name, sink.topic) < 0, "nothing committed before S3 answered"
    finally:
        s3.start()
        s3.provision()
    wait_for(lambda: len(sink.ids()) >= 30, 60, "the 30 records once S3 is back")
    time.sleep(2)
    assert sorted(sink.ids()) == list(range(30)), "each record exactly once in the lake"


def _rewind_to_start(sink: Sink) -> None:
    """KIP-875: stop the connector, set its offset of partition 0 back to 0, resume it."""
    sink.client.set_state(sink.name, "STOPPED")
    sink.client.wait_state(sink.name, "STOPPED", timeout_s=60)
    partition = {"kafka_topic": sink.topic, "kafka_partition": 0}
    sink.client.alter_offsets(sink.name, [{"partition": partition, "offset": {"kafka_offset": 0}}])
    sink.client.set_state(sink.name, "RUNNING")
    sink.client.wait_running(sink.name, timeout_s=60, poll_s=0.5)


@pytest.mark.parametrize("cut", ["flush.size", "wall clock"])
def test_a_rewind_rewrites_the_objects_the_lake_lost_and_writes_nothing_it_still_holds(sink: Sink, cut: str) -> None:
    if cut == "flush.size":
        sink.start(**{"flush.size": "10"})
        sink.produce([doc(i) for i in range(100)])
    else:  # bursts cut at the clock's 500 ms marks: a replay cuts its batches elsewhere
        sink.start(**{"flush.size": "100000", "rotate.schedule.interval.ms": "500", "timezone": "UTC"})
        for burst in range(5):
            sink.produce([doc(i) for i in range(burst * 20, burst * 20 + 20)])
            time.sleep(0.7)
    wait_for(lambda: committed_offset(sink.substrate, sink.name, sink.topic) == 100, 60, "100 records committed")
    before = sink.objects()
    assert sorted(sink.ids()) == list(range(100)) and len(before) >= 3, sorted(before)
    lost = sorted(before)[1 : len(before) - 1 : 2]  # every other object inside the lake, never the first or last
    s3 = s3_client(sink.substrate)
    for key in lost:
        s3.delete_object(Bucket=sink.bucket, Key=key)

    _rewind_to_start(sink)
    wait_for(lambda: len(sink.ids()) >= 100, 60, "the lost records written again")
    time.sleep(2)  # a late duplicate would land within a rotation or two
    assert sorted(sink.ids()) == list(range(100)), "each record exactly once in the lake"
    after = sink.objects()
    kept = set(before) - set(lost)
    assert all(after[k]["LastModified"] == before[k]["LastModified"] for k in kept), "what S3 held was rewritten"
    if cut == "flush.size":
        assert set(after) == set(before), "the lost objects come back under their own names"
