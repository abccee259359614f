"""Exactly-once Kafka resume against the real broker and registry: the acknowledgements a kill -9 loses (the
delivery callbacks that never ran) are found on the topic by the next run, which sends none of them again."""

from __future__ import annotations

import copy
import json
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from contract.outputs import StackOutputs, validate_outputs
from loaders.convert import convert_dir
from loaders.generate import generate_dataset
from loaders.load import load_dataset

pytestmark = pytest.mark.devstack
DATASET = "transactions"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw, out = tmp_path_factory.mktemp("raw"), tmp_path_factory.mktemp("json")
    generate_dataset(raw, 3000, seed=4)
    assert convert_dir(raw, out).ok
    return out / f"{DATASET}.jsonl"


@pytest.fixture
def topic_outputs(platform: Any) -> Iterator[StackOutputs]:
    """The stack outputs with a fresh 3-partition topic of this test's own for the transactions."""
    from confluent_kafka.admin import AdminClient, NewTopic

    outputs = copy.deepcopy(platform("kafka", "registry"))
    topic = f"test-resume-{uuid.uuid4().hex[:8]}"
    outputs["kafka_topics"][DATASET] = topic
    admin = AdminClient({"bootstrap.servers": outputs["kafka_bootstrap_servers"]})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(30)
    wait_until_described(admin, topic)
    yield validate_outputs(outputs, "the test's outputs")
    admin.delete_topics([topic])


def wait_until_described(admin: Any, topic: str) -> None:
    """A created topic reaches the broker's metadata a moment after the create is acknowledged: the loader's
    describe before then reads "no such topic" (seen once in CI)."""
    from confluent_kafka import KafkaException, TopicCollection

    deadline = time.monotonic() + 30
    while True:
        try:
            admin.describe_topics(TopicCollection([topic]))[topic].result(10)
            return
        except KafkaException as exc:
            traceback.clear_frames(exc.__traceback__)
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def topic_keys(outputs: Mapping[str, Any]) -> Counter[str]:
    from confluent_kafka import Consumer, TopicPartition

    topic = outputs["kafka_topics"][DATASET]
    consumer = Consumer({"bootstrap.servers": outputs["kafka_bootstrap_servers"], "group.id": uuid.uuid4().hex,
                         "enable.auto.commit": False})  # fmt: skip
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    total = sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions)
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    keys: Counter[str] = Counter()
    deadline = time.monotonic() + 30
    while sum(keys.values()) < total and time.monotonic() < deadline:
        for msg in consumer.consume(500, timeout=1.0):
            if msg.error() is None:
                keys[(msg.key() or b"").decode()] += 1
    consumer.close()
    return keys


def source_copy(source: Path, folder: Path) -> Path:
    folder.mkdir()
    (folder / source.name).write_text(source.read_text())
    return folder


def test_acknowledgements_lost_in_a_crash_are_read_back_from_the_topic(
    topic_outputs: StackOutputs, source: Path, tmp_path: Path
) -> None:
    folder = source_copy(source, tmp_path / "json")
    first = load_dataset("kafka", DATASET, topic_outputs, folder, progress=False, count=False)
    assert first.written == first.read > 2000 and first.failed == 0
    (checkpoint,) = (folder / "_state").rglob("*.delivered")  # a topic id may hold a "/"
    lines = checkpoint.read_text().splitlines()
    # a kill -9 after the broker stored the last 700 records but before the run wrote their keys and committed
    # them: the file ends inside the run's section, 700 keys short, with no commit and no end marks
    cut = [n for n, line in enumerate(lines) if not line.startswith("#")][-700]
    assert "#commit" in lines[cut:]
    checkpoint.write_text("".join(f"{line}\n" for line in lines[:cut]) + lines[cut][:3])  # and a torn line

    resumed = load_dataset("kafka", DATASET, topic_outputs, folder, progress=False, count=False)

    assert (resumed.written, resumed.skipped, resumed.failed) == (0, first.read, 0)
    keys = topic_keys(topic_outputs)
    assert len(keys) == first.read and set(keys.values()) == {1}


def test_a_checkpoint_without_offsets_still_resumes_once(
    topic_outputs: StackOutputs, source: Path, tmp_path: Path
) -> None:
    """A checkpoint written before offsets were kept (one key a line) is read from the start of the topic."""
    folder = source_copy(source, tmp_path / "json")
    half = len(source.read_text().splitlines()) // 2
    first = load_dataset("kafka", DATASET, topic_outputs, folder, rows=half, progress=False, count=False)
    (checkpoint,) = (folder / "_state").rglob("*.delivered")  # a topic id may hold a "/"
    keys_only = [line.split("\t")[0] for line in checkpoint.read_text().splitlines() if not line.startswith("#")]
    checkpoint.write_text("".join(f"{key}\n" for key in keys_only[: half // 2]))

    rest = load_dataset("kafka", DATASET, topic_outputs, folder, progress=False, count=False)

    assert rest.written == rest.read - first.written
    keys = topic_keys(topic_outputs)
    assert len(keys) == rest.read and set(keys.values()) == {1}


def test_a_failed_delivery_is_quarantined_with_its_key_and_source_line(
    topic_outputs: StackOutputs, source: Path, tmp_path: Path
) -> None:
    """A record the broker refuses (larger than the topic's max.message.bytes) is not on the topic: it fails,
    and its quarantine line names it by key and line, not `{"line": null, "record": {"delivery": ...}}`."""
    from confluent_kafka.admin import AdminClient, ConfigResource

    topic = topic_outputs["kafka_topics"][DATASET]
    admin = AdminClient({"bootstrap.servers": topic_outputs["kafka_bootstrap_servers"]})
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={"max.message.bytes": "200"})
    admin.alter_configs([resource])[resource].result(30)
    folder = source_copy(source, tmp_path / "json")
    report = load_dataset("kafka", DATASET, topic_outputs, folder, rows=5, progress=False, count=False)

    assert report.failed == 5 and report.written == 0
    entries = [
        json.loads(line) for line in (folder / "_rejected" / f"load-kafka-{DATASET}.jsonl").read_text().splitlines()
    ]
    records = [json.loads(line) for line in source.read_text().splitlines()[:5]]
    assert sorted(e["line"] for e in entries) == [1, 2, 3, 4, 5]
    assert {e["key"] for e in entries} == {str(r["id"]) for r in records}
    assert all(e["record"] == records[e["line"] - 1] and "kafka: not delivered" in e["reason"] for e in entries)


def topic_messages(outputs: Mapping[str, Any]) -> list[tuple[int, int, str, dict[str, Any]]]:
    """(partition, offset, key, record) of every message on the test's topic (value past its 5-byte frame)."""
    from confluent_kafka import Consumer, TopicPartition

    topic = outputs["kafka_topics"][DATASET]
    consumer = Consumer({"bootstrap.servers": outputs["kafka_bootstrap_servers"], "group.id": uuid.uuid4().hex})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    total = sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions)
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    messages: list[tuple[int, int, str, dict[str, Any]]] = []
    deadline = time.monotonic() + 30
    while len(messages) < total and time.monotonic() < deadline:
        for msg in consumer.consume(500, timeout=1.0):
            if msg.error() is None:
                value = json.loads((msg.value() or b"")[5:])
                messages.append((msg.partition() or 0, msg.offset() or 0, (msg.key() or b"").decode(), value))
    consumer.close()
    return messages


def test_lines_the_kernel_leaves_are_checked_in_full_and_sent_in_their_place(
    topic_outputs: StackOutputs, source: Path, tmp_path: Path
) -> None:
    """The load sends the lines its compiled check accepts as they are, and the others through the full check,
    in source order: a record the kernel leaves (an escape it does not undo) and a later version of its key the
    kernel accepts end up in that order on the topic; bad lines are quarantined with their own line numbers."""
    lines = source.read_text().splitlines()[:50]
    records = [json.loads(line) for line in lines]
    lines[9] = lines[9].replace('"date"', '"d\\u0061te"')  # line 10: valid, but not the kernel's to decide
    lines[19] = "not json"  # line 20
    lines[29] = json.dumps({**records[29], "id": "thirty"})  # line 30: the schema refuses a string id
    lines[34] = "   "  # line 35: blank, skipped
    later = {**records[9], "amount": 99.5}
    lines[39] = json.dumps(later, separators=(",", ":"))  # line 40: a later version of line 10's record
    folder = tmp_path / "json"
    folder.mkdir()
    (folder / f"{DATASET}.jsonl").write_text("".join(f"{line}\n" for line in lines))

    report = load_dataset("kafka", DATASET, topic_outputs, folder, progress=False, count=False)

    assert (report.read, report.written, report.failed) == (49, 47, 2)
    entries = [json.loads(line) for line in Path(report.quarantine or "").read_text().splitlines()]
    assert sorted((e["line"], e["field"]) for e in entries) == [(20, None), (30, "id")]
    messages = topic_messages(topic_outputs)
    assert len(messages) == 47
    versions = sorted((p, o, r) for p, o, k, r in messages if k == str(records[9]["id"]))
    assert [r for _p, _o, r in versions] == [records[9], later]  # one partition, in source order
    expected = {str(r["id"]): r for n, r in enumerate(records) if n not in (9, 19, 29, 34, 39)}
    assert {k: r for _p, _o, k, r in messages if k != str(records[9]["id"])} == expected

    limited = tmp_path / "limited"
    limited.mkdir()
    (limited / f"{DATASET}.jsonl").write_text("".join(f"{line}\n" for line in lines))
    first = load_dataset("kafka", DATASET, topic_outputs, limited, rows=12, progress=False, count=False)
    assert (first.read, first.skipped + first.written) == (12, 12)


def test_a_full_local_queue_holds_the_block_back_and_loses_none(topic_outputs: StackOutputs, source: Path) -> None:
    """With librdkafka's queue capped at 100 messages, a block of 3,000 meets BufferError again and again: each
    time the loop waits for deliveries and goes on from the refused record, so each is on the topic once."""
    from loaders.sinks.kafka import SchemaRegistryJsonProducer
    from loaders.validate import RecordValidator
    from schemas import load as load_schema

    schema = load_schema(DATASET)
    topic = topic_outputs["kafka_topics"][DATASET]
    with SchemaRegistryJsonProducer(
        topic_outputs["kafka_bootstrap_servers"], topic_outputs["schema_registry_url"], topic, schema,
        client_settings={"queue.buffering.max.messages": 100},
    ) as producer:  # fmt: skip
        block = source.read_bytes()
        ids, values, left, _ = RecordValidator(schema).accepted_block(block, 1, 10**6, producer.json_prefix)
        assert len(ids) == 3000 and not left
        assert producer.send_block(ids, values) == 0
        counts = producer.flush()
    assert (counts.delivered, counts.failed) == (3000, 0)
    keys = topic_keys(topic_outputs)
    assert len(keys) == 3000 and set(keys.values()) == {1}


def test_a_topic_the_broker_lacks_is_one_line_and_leaves_no_client_open(
    topic_outputs: StackOutputs, source: Path, tmp_path: Path
) -> None:
    """The load stops before sending, naming the topic and the way on; the producer and the admin client it had
    opened are closed, not left to the garbage collector with their broker threads running."""
    import _kafka_handles as kafka_handles

    from loaders.sinks.base import LoadError

    outputs: dict[str, Any] = copy.deepcopy(dict(topic_outputs))
    missing = f"test-missing-{uuid.uuid4().hex[:8]}"
    outputs["kafka_topics"][DATASET] = missing
    before = set(kafka_handles.leaks())
    folder = source_copy(source, tmp_path / "json")
    with pytest.raises(LoadError, match=f"has no topic '{missing}'; the stack creates it: make up"):
        load_dataset("kafka", DATASET, validate_outputs(outputs, "the test's outputs"), folder, progress=False,
                     count=False)  # fmt: skip
    assert set(kafka_handles.leaks()) - before == set()
