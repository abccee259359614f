"""The streaming pipeline against real servers: `python -m loaders load -d kafka` (the one Kafka write path, in
batch or streaming mode) -> Kafka (schema registry) -> the S3 sink connector -> the bucket, read back record for
record. Each test has its own topic and its own
connector (created through the same code the platform uses), removed afterwards."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from _pipelines_records import card, delete_prefix

from components.connect.client import ConnectClient
from contract.clients import s3_client
from contract.lake_layout import parse_sink_object_name
from contract.outputs import StackOutputs, validate_outputs
from contract.s3_sink import sink_config_for
from loaders.load import LoadReport, load_dataset
from pipelines.common import REPO_ROOT
from pipelines.streaming.sink import end_offsets, sink_prefix, wait_for_records
from schemas import load as load_schema

pytestmark = pytest.mark.devstack


@pytest.fixture(scope="module")
def outputs(platform: Callable[..., dict[str, Any]]) -> StackOutputs:
    return validate_outputs(platform("kafka", "registry", "connect", "moto"), "the test platform's")


@pytest.fixture
def topic(outputs: StackOutputs) -> Iterator[str]:
    """A fresh 3-partition topic with its own S3 sink connector (the stack's sink config, this topic only)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"test-cards-{uuid.uuid4().hex[:8]}"
    connector = f"test-s3-sink-{name[-8:]}"
    admin = AdminClient({"bootstrap.servers": outputs["kafka_bootstrap_servers"]})
    admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])[name].result(30)
    client = ConnectClient.from_outputs(outputs, timeout_s=30.0)
    built = sink_config_for(outputs, (name,))
    client.ensure(connector, {**built.config, **built.secret_config})
    yield name
    client.delete(connector)
    admin.delete_topics([name])
    delete_prefix(s3_client(outputs), outputs["s3_sink"]["bucket"], sink_prefix(outputs, name))


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def with_topic(outputs: StackOutputs, topic: str) -> dict[str, Any]:
    """The outputs with the test's own topic as the cards' (the loaders take every name from the outputs)."""
    return {**outputs, "kafka_topics": {**outputs["kafka_topics"], "cards": topic}}


def load_command(outputs_path: Path, source: Path, *extra: str) -> list[str]:
    """`source` (a cards.jsonl) into the topic the outputs name for the cards."""
    return [sys.executable, "-m", "loaders", "load", "-d", "kafka", "--dataset", "cards", "--outputs",
            str(outputs_path), "--source", str(source.parent), "--no-progress", *extra]  # fmt: skip


def load_kafka(outputs: StackOutputs, topic: str, source: Path) -> LoadReport:
    """`load_dataset` of `source` (a cards.jsonl) into `topic`."""
    typed = validate_outputs(with_topic(outputs, topic), "the test's outputs")
    return load_dataset("kafka", "cards", typed, source.parent, progress=False, count=False)


def produce_cli(outputs_path: Path, source: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        load_command(outputs_path, source, *extra),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def lake_lines(outputs: StackOutputs, topic: str) -> list[tuple[int, int, dict[str, Any]]]:
    """(partition, offset, document) of every line of every object under the topic's sink prefix, as stored:
    read apart from the pipeline's reader, which keeps one record per offset and so hides a record written twice."""
    import gzip

    s3, bucket = s3_client(outputs), outputs["s3_sink"]["bucket"]
    found: list[tuple[int, int, dict[str, Any]]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=sink_prefix(outputs, topic)):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            body = gzip.decompress(body) if obj["Key"].endswith(".gz") else body
            parsed = parse_sink_object_name(obj["Key"])
            partition, start = parsed.partition, parsed.start_offset
            documents = [json.loads(line) for line in body.splitlines() if line.strip()]
            found += [(partition, start + i, doc) for i, doc in enumerate(documents)]
    return found


def kafka_messages(outputs: StackOutputs, topic: str, expected: int, timeout: float = 30) -> list[Any]:
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": outputs["kafka_bootstrap_servers"],
            "group.id": f"test-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    messages: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(messages) < expected:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                messages.append(msg)
    finally:
        consumer.close()
    return messages


def test_n_records_produced_are_exactly_n_records_in_s3_field_for_field(
    outputs: StackOutputs, topic: str, outputs_file: Callable[[dict[str, Any]], Path], tmp_path: Path
) -> None:
    records = [card(i) for i in range(1, 26)]
    source = write_lines(tmp_path / "cards.jsonl", [json.dumps(r) for r in records])

    proc = produce_cli(outputs_file(with_topic(outputs, topic)), source)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"cards → {topic}: read 25, written 25, skipped 0, failed 0 (rejected 0) in 1 pass(es)" in proc.stderr
    landed = wait_for_records(outputs, topic, 25, timeout=90)
    assert sorted((r.value for r in landed), key=lambda v: v["id"]) == records
    # key = the record id; the value in S3 is the producer's JSON document itself (no registry prefix)
    messages = kafka_messages(outputs, topic, 25)
    assert sorted(int(m.key()) for m in messages) == [r["id"] for r in records]
    assert all(m.value()[:1] == b"\x00" for m in messages), "values use the schema registry's wire format"
    # and not more: a sink offset commit later, every line of every object the sink wrote is one of the 25, once
    # (the seed's producer re-sent forever; a sink that wrote a batch twice would repeat its offsets)
    time.sleep(6)
    lines = lake_lines(outputs, topic)
    assert len(lines) == 25, [(p, o) for p, o, _ in lines]
    assert len({(p, o) for p, o, _ in lines}) == 25
    assert sorted((v for _, _, v in lines), key=lambda v: v["id"]) == records
    subject = requests.get(f"{outputs['schema_registry_url']}/subjects/{topic}-value/versions/latest", timeout=10)
    assert subject.status_code == 200, subject.text
    assert json.loads(subject.json()["schema"]) == load_schema("cards").json_schema()


def test_invalid_records_are_refused_counted_quarantined_and_not_sent(
    outputs: StackOutputs, topic: str, tmp_path: Path
) -> None:
    good = [card(i) for i in (1, 2, 3)]
    bad_type = {**card(4), "cvv": "six-two-three"}
    missing = {k: v for k, v in card(5).items() if k != "card_brand"}
    source = write_lines(
        tmp_path / "cards.jsonl",
        [
            json.dumps(good[0]),
            json.dumps(bad_type),
            json.dumps(good[1]),
            "{not json",
            json.dumps(missing),
            json.dumps(good[2]),
        ],
    )
    quarantine = tmp_path / "_rejected" / "load-kafka-cards.jsonl"
    since = end_offsets(outputs, topic)
    report = load_kafka(outputs, topic, source)

    # read, written (delivered), skipped, failed other than rejected, rejected
    assert (report.read, report.written, report.skipped, report.failed - report.rejected, report.rejected) == (
        6, 3, 0, 0, 3
    )  # fmt: skip
    assert report.quarantine == str(quarantine)
    entries = [json.loads(line) for line in quarantine.read_text().splitlines()]
    assert [e["line"] for e in entries] == [2, 4, 5]
    assert all(e["file"] == str(source) for e in entries)
    assert "cvv" in entries[0]["reason"] and entries[0]["record"] == bad_type
    assert "JSON" in entries[1]["reason"]
    assert "card_brand" in entries[2]["reason"]
    # nothing of the rejected records reached Kafka: exactly the 3 good ones were appended
    after = end_offsets(outputs, topic)
    assert sum(after.values()) - sum(since.values()) == 3
    landed = wait_for_records(outputs, topic, 3, timeout=90, since=since)
    assert sorted((r.value for r in landed), key=lambda v: v["id"]) == good


def test_rejections_make_the_cli_fail_with_a_clear_message(
    outputs: StackOutputs, topic: str, outputs_file: Callable[[dict[str, Any]], Path], tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "cards.jsonl", [json.dumps(card(1)), json.dumps({**card(2), "cvv": "x"})])
    proc = produce_cli(outputs_file(with_topic(outputs, topic)), source)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "written 1, skipped 0, failed 1 (rejected 1)" in proc.stderr
    assert "cards.jsonl:2" in proc.stderr and "cvv" in proc.stderr
    assert str(tmp_path / "_rejected" / "load-kafka-cards.jsonl") in proc.stderr


def test_ctrl_c_in_a_loop_flushes_and_counts_what_was_delivered(
    outputs: StackOutputs, topic: str, outputs_file: Callable[[dict[str, Any]], Path], tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "cards.jsonl", [json.dumps(card(i)) for i in range(1, 11)])
    command = load_command(outputs_file(with_topic(outputs, topic)), source, "--mode", "streaming", "--interval",
                           "0.02", "--loop")  # fmt: skip
    # Ctrl-C as from a terminal: a test run started in the background of a non-interactive shell (as CI jobs often
    # are) ignores SIGINT, the child inherits that, and Python then never raises KeyboardInterrupt
    proc = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    try:
        # let it loop over the file a few times (a deadline against a hang only, not a speed), then Ctrl-C
        _wait_for_records_on_topic(outputs, topic, 25, proc, timeout=600)
        proc.send_signal(signal.SIGINT)
        # Ctrl-C flushes (up to 30 s for what is stuck), then the producer's own exit flushes once more
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:  # the endless producer never outlives the test, whatever failed above
            proc.kill()
            proc.communicate()

    assert proc.returncode == 130, stdout + stderr
    line = next(ln for ln in stderr.splitlines() if ln.startswith(f"cards → {topic}: read"))
    match = re.search(r"written ([\d,]+), skipped", line)
    assert match, line
    delivered = int(match.group(1).replace(",", ""))
    assert delivered >= 25
    # every record it counted as delivered is in Kafka, and nothing it did not count
    assert sum(end_offsets(outputs, topic).values()) == delivered
    assert "failed 0" in line


def _wait_for_records_on_topic(outputs: StackOutputs, topic: str, n: int, proc: Any, timeout: float) -> int:
    """The topic's record count once it holds `n`; fails at once if the producer exits, and at `timeout`."""
    deadline = time.monotonic() + timeout
    while (on_topic := sum(end_offsets(outputs, topic).values())) < n:
        if proc.poll() is not None:
            stdout, stderr = proc.communicate()
            pytest.fail(f"the producer exited ({proc.returncode}) with {on_topic} records on the topic:\n"
                        f"{stdout}{stderr}")  # fmt: skip
        if time.monotonic() > deadline:
            pytest.fail(f"the topic held {on_topic} of {n} records after {timeout:.0f} s: hung?")
        time.sleep(0.3)
    return on_topic


def test_a_record_the_topic_does_not_hold_fails_named_by_key_and_line(
    outputs: StackOutputs, topic: str, tmp_path: Path
) -> None:
    """Delivery errors are checked against the topic before the summary: the records the broker refused (here:
    larger than the topic's max.message.bytes) are failed, each quarantined with its key and source line."""
    from confluent_kafka.admin import AdminClient, ConfigResource

    admin = AdminClient({"bootstrap.servers": outputs["kafka_bootstrap_servers"]})
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={"max.message.bytes": "200"})
    admin.alter_configs([resource])[resource].result(30)
    cards = [card(i) for i in (1, 2)]
    source = write_lines(tmp_path / "cards.jsonl", [json.dumps(c) for c in cards])
    quarantine = tmp_path / "_rejected" / "load-kafka-cards.jsonl"

    report = load_kafka(outputs, topic, source)

    assert (report.read, report.written, report.failed, report.rejected) == (2, 0, 2, 0)
    entries = sorted((json.loads(line) for line in quarantine.read_text().splitlines()), key=lambda e: e["line"])
    assert [(e["line"], e["key"], e["record"]) for e in entries] == [(1, str(cards[0]["id"]), cards[0]),
                                                                     (2, str(cards[1]["id"]), cards[1])]  # fmt: skip
    assert all("kafka: not delivered" in e["reason"] for e in entries)
