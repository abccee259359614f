"""A Kafka load against the real local services (devstack): registered JSON sent once, a streaming load killed
halfway and resumed, a re-run that sends nothing again, and a recreated topic filled again."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from _loaders_records import private_outputs, read_records

from loaders.sinks.kafka import topic_id

pytestmark = pytest.mark.devstack
REPO = Path(__file__).resolve().parents[2]


def _delete_topic(outputs: Mapping[str, Any], topic: str) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": outputs["kafka_bootstrap_servers"]})
    admin.delete_topics([topic])[topic].result(timeout=30)
    deadline = time.monotonic() + 30
    while topic in admin.list_topics(timeout=10).topics and time.monotonic() < deadline:
        time.sleep(0.2)


def _create_topic(outputs: Mapping[str, Any], topic: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": outputs["kafka_bootstrap_servers"]})
    for future in admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)]).values():
        future.result(timeout=30)


def _topic_values(outputs: Mapping[str, Any], topic: str) -> list[dict[str, Any]]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": outputs["kafka_bootstrap_servers"], "group.id": uuid.uuid4().hex,
                         "enable.auto.commit": False})  # fmt: skip
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    values: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while len(values) < sum(ends.values()) and time.monotonic() < deadline:
        msg = consumer.poll(1.0)
        if msg is not None and msg.error() is None:
            values.append(json.loads((msg.value() or b"")[5:]))  # after the registry's 5-byte prefix
    consumer.close()
    return values


def test_kafka_sends_registered_json_once_and_resumes_after_a_kill(
    platform: Any, converted: Path, outputs_file: Any, tmp_path: Path
) -> None:
    outputs = private_outputs(platform("kafka", "registry"), "transactions", "kafka_topics")
    topic = outputs["kafka_topics"]["transactions"]
    _create_topic(outputs, topic)
    source_dir = tmp_path / "json"
    source_dir.mkdir()
    (source_dir / "transactions.jsonl").write_text((converted / "transactions.jsonl").read_text())
    path = outputs_file(outputs)
    batch = [sys.executable, "-m", "loaders", "load", "-d", "kafka", "--dataset", "transactions", "--outputs",
             str(path), "--source", str(source_dir), "--no-progress"]  # fmt: skip
    command = [*batch, "--mode", "streaming", "--interval", "0.002"]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    checkpoint = (
        source_dir / "_state" / f"kafka-{topic}-{topic_id(outputs['kafka_bootstrap_servers'], topic)}.delivered"
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not checkpoint.exists() or len(checkpoint.read_text().split()) < 200):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    delivered_before = len(checkpoint.read_text().split())
    assert 0 < delivered_before < 2000

    resumed = subprocess.run(batch, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    values = _topic_values(outputs, topic)
    ids = [v["id"] for v in values]
    source = read_records(converted, "transactions")
    # each record once: what was in flight at the kill is found on the topic, not sent again
    assert sorted(ids) == sorted(r["id"] for r in source)
    by_id = {v["id"]: v for v in values}
    assert by_id[source[123]["id"]] == source[123]

    rerun = subprocess.run(batch, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0
    assert len(_topic_values(outputs, topic)) == len(ids)  # nothing sent again

    # the topic deleted and created again (a stack's destroy and up) is empty: everything is sent again
    _delete_topic(outputs, topic)
    _create_topic(outputs, topic)
    again = subprocess.run(batch, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(v["id"] for v in _topic_values(outputs, topic)) == sorted(r["id"] for r in source)
