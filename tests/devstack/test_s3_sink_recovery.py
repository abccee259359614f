"""devstack's S3 sink against the real Connect worker, Kafka and moto, held to Confluent's S3 sink promises on
recovery: object names that a re-delivery after a worker crash rewrites (each record once in the lake), a recreated
topic written again, a task that outlives S3 being stopped (or its buckets missing) and lands every record once when
S3 is back, and a rewind that rewrites only what the lake lost."""

from __future__ import annotations

import time

import pytest
from _s3_sinks import Sink, committed_offset, doc
from test_connect import wait_for

from contract.clients import s3_client
from contract.lake_layout import parse_sink_object_name
from devstack import services
from devstack.config import DevstackConfig
from devstack.service import Service
from devstack.services.connect import KafkaConnect

pytestmark = pytest.mark.devstack


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
