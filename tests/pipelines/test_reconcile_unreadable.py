"""A record on a topic that the registry's deserializer cannot read (plain JSON, no wire-format prefix: "Invalid
magic byte") is a finding of the Kafka stage, named by partition and offset, and fails the verdict; the read goes
on and every other record is still compared. Against the real broker and registry."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest

from contract.outputs import StackOutputs
from loaders.convert import convert_dir
from loaders.generate import generate_dataset
from loaders.load import load_dataset
from pipelines.reconcile.plan import Scope
from pipelines.reconcile.run import reconcile

pytestmark = pytest.mark.devstack


def test_an_unreadable_record_is_a_finding_with_its_offset_not_a_crash(
    devstack: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"test-unreadable-{uuid.uuid4().hex[:8]}"
    outputs = cast(StackOutputs, {**copy.deepcopy(devstack("kafka", "registry")), "kafka_topics": {"cards": topic}})
    generate_dataset(tmp_path / "raw", 50, seed=5)
    assert convert_dir(tmp_path / "raw", tmp_path / "json").ok
    admin = AdminClient({"bootstrap.servers": outputs["kafka_bootstrap_servers"]})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(timeout=30)
    delivered: list[tuple[int | None, int | None]] = []
    producer = Producer({"bootstrap.servers": outputs["kafka_bootstrap_servers"]})
    try:
        loaded = load_dataset("kafka", "cards", outputs, tmp_path / "json", progress=False, count=False)
        assert loaded.failed == 0 and loaded.written > 0, loaded
        plain = json.dumps({"id": "not-framed", "note": "plain JSON, as a client without the registry sends"})
        producer.produce(
            topic,
            key=b"not-framed",
            value=plain.encode(),
            on_delivery=lambda e, m: delivered.append((m.partition(), m.offset())),
        )
        assert producer.flush(30) == 0
        scope = replace(Scope(source_dir=tmp_path / "json"), stages=("source", "kafka"))
        report = reconcile(outputs, ["cards"], scope, store=False)
    finally:
        admin.delete_topics([topic])
        del producer, admin  # freed now even when a failure's traceback keeps this frame

    (partition, offset), kafka = delivered[0], report.datasets[0].stages[1]
    assert kafka.stage == "kafka" and kafka.error is None
    assert kafka.comparison.unreadable.count == 1
    assert [(u["partition"], u["offset"]) for u in kafka.comparison.unreadable.first] == [(partition, offset)]
    assert "magic byte" in kafka.comparison.unreadable.first[0]["error"].lower()
    # every framed record was still read and compared: nothing missing, extra or different
    c = kafka.comparison
    assert c.rows == loaded.written and c.missing.count == c.extra.count == c.mismatched.count == 0
    assert report.failures() == [
        f"cards kafka: 1 mismatched (max 0): unreadable record at partition {partition} offset {offset} "
        f"({kafka.comparison.unreadable.first[0]['error']})"
    ]
