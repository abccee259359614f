"""`python -m pipelines reconcile --since TIME` reads Kafka partially: only the records the broker stamped from
that time on, compared with the source, with no key before it counted missing. Against the real broker."""

from __future__ import annotations

import argparse
import copy
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from contract.outputs import StackOutputs
from loaders.convert import convert_dir
from loaders.generate import generate_dataset
from loaders.load import load_dataset
from pipelines.reconcile.cli import add_arguments, scope_from_args
from pipelines.reconcile.run import reconcile


def args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["--outputs", "o.json", *argv])


def test_since_takes_a_load_id_or_an_iso_time_for_kafka_and_dlt_alike() -> None:
    scope = scope_from_args(args("--since", "1764612345.5"))
    assert (scope.since_load_id, scope.kafka_since_time) == ("1764612345.5", 1764612345.5)
    scope = scope_from_args(args("--since", "2025-12-01T18:05:45.5Z"))
    assert (scope.since_load_id, scope.kafka_since_time) == ("1764612345.500000", 1764612345.5)
    assert scope_from_args(args()).kafka_since_time is None
    with pytest.raises(SystemExit):
        args("--since", "yesterday")


@pytest.mark.devstack
def test_kafka_since_a_time_reads_only_the_later_records_and_counts_no_earlier_key_missing(
    devstack: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"test-since-{uuid.uuid4().hex[:8]}"
    outputs = cast(StackOutputs, {**copy.deepcopy(devstack("kafka", "registry")), "kafka_topics": {"cards": topic}})
    generate_dataset(tmp_path / "raw", 50, seed=7)
    assert convert_dir(tmp_path / "raw", tmp_path / "json").ok
    lines = (tmp_path / "json" / "cards.jsonl").read_text().splitlines(keepends=True)
    first, later = lines[: len(lines) // 2], lines[len(lines) // 2 :]
    admin = AdminClient({"bootstrap.servers": outputs["kafka_bootstrap_servers"]})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(timeout=30)
    try:
        for part, name in ((first, "first"), (later, "later")):
            (tmp_path / name).mkdir()
            (tmp_path / name / "cards.jsonl").write_text("".join(part))
            if name == "later":
                time.sleep(0.05)
                between = time.time()
                time.sleep(0.05)
            loaded = load_dataset("kafka", "cards", outputs, tmp_path / name, progress=False, count=False)
            assert loaded.failed == 0 and loaded.written == len(part), loaded
        since = scope_from_args(args("--source", str(tmp_path / "json"), "--stage", "source", "--stage", "kafka",
                                     "--since", f"{between:.6f}"))  # fmt: skip
        report = reconcile(outputs, ["cards"], since, store=False)
        whole_scope = scope_from_args(args("--source", str(tmp_path / "json"), "--stage", "source", "--stage", "kafka"))
        whole = reconcile(outputs, ["cards"], whole_scope, store=False)
    finally:
        admin.delete_topics([topic])
        del admin

    kafka = report.datasets[0].stages[1]
    later_ids = sorted(json.loads(line)["id"] for line in later)
    assert (kafka.stage, kafka.complete, kafka.comparison.rows) == ("kafka", False, len(later_ids))
    assert report.ok, report.failures()  # the first half is before --since: not missing
    assert whole.datasets[0].stages[1].comparison.rows == len(lines) and whole.ok
