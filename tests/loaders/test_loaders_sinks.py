"""Loads against the real local services (devstack): counts and field values read back from each target,
idempotent re-runs, a Kafka load killed halfway and resumed, and the CLI fed an outputs file."""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest

from contract.outputs import StackOutputs, validate_outputs
from loaders.cli import main as cli
from loaders.convert import convert_dir
from loaders.generate import generate_dataset
from loaders.load import load_dataset
from loaders.sinks.kafka import topic_id

pytestmark = pytest.mark.devstack
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw, out = tmp_path_factory.mktemp("raw"), tmp_path_factory.mktemp("json")
    generate_dataset(raw, 2000, seed=3)
    assert convert_dir(raw, out).ok
    return out


def _records(source: Path, dataset: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (source / f"{dataset}.jsonl").read_text().splitlines()]


def _private(outputs: dict[str, Any], dataset: str, key: str) -> StackOutputs:
    """Outputs whose collection/topic for `dataset` is unique to this test, so shared data cannot interfere."""
    mine = copy.deepcopy(outputs)
    mine[key][dataset] = f"test-{dataset}-{uuid.uuid4().hex[:8]}"
    return validate_outputs(mine, "the test's outputs")


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


def test_mongodb_documents_from_checked_lines_are_the_records_under_their_ids(
    platform: Any, converted: Path, tmp_path: Path
) -> None:
    """Lines the kernel accepts become documents with the id spliced in (one with leading whitespace too), lines
    left to the full check (an escape) in their place, and a key's later version wins across both paths."""
    import pymongo

    outputs = _private(platform("ferretdb"), "transactions", "mongodb_collections")
    records = _records(converted, "transactions")[:300]
    again = {**records[5], "amount": 1234.5}  # a second version of record 5's key, later in the file
    escaped = {**records[9], "merchant_city": "Montréal"}
    lines = [json.dumps(r, separators=(",", ":")) for r in records]
    lines[3] = "  \t" + lines[3]
    lines[9] = json.dumps(escaped)  # ensure_ascii: \u00e9, which the kernel leaves to the full check
    lines.append(json.dumps(again, separators=(",", ":")))
    (tmp_path / "transactions.jsonl").write_text("\n".join(lines) + "\n")
    report = load_dataset("mongodb", "transactions", outputs, tmp_path, progress=False)
    assert (report.read, report.written, report.failed, report.in_target) == (301, 301, 0, 300)
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(outputs["mongodb_uri"])
    collection = client[outputs["mongodb_database"]][outputs["mongodb_collections"]["transactions"]]
    try:
        stored = {doc.pop("_id"): doc for doc in collection.find()}
        expected = {str(r["id"]): r for r in [*records[:5], again, *records[6:9], escaped, *records[10:]]}
        assert stored == expected
    finally:
        collection.drop()
        client.close()


def test_mongodb_round_trip_and_idempotent_rerun(platform: Any, converted: Path) -> None:
    import pymongo

    outputs = _private(platform("ferretdb"), "cards", "mongodb_collections")
    first = load_dataset("mongodb", "cards", outputs, converted, progress=False)
    second = load_dataset("mongodb", "cards", outputs, converted, progress=False)
    source = _records(converted, "cards")
    assert (first.read, first.written, first.failed) == (len(source), len(source), 0)
    assert second.in_target == first.in_target == len(source)
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(outputs["mongodb_uri"])
    collection = client[outputs["mongodb_database"]][outputs["mongodb_collections"]["cards"]]
    try:
        stored = collection.find_one({"_id": str(source[7]["id"])})
        assert stored is not None and {k: stored[k] for k in source[7]} == source[7]
    finally:
        collection.drop()
        client.close()


def test_firestore_round_trip_and_idempotent_rerun(platform: Any, converted: Path) -> None:
    from google.cloud import firestore  # type: ignore[attr-defined]

    outputs = _private(platform("firestore"), "users", "firestore_collections")
    first = load_dataset("firestore", "users", outputs, converted, progress=False)
    second = load_dataset("firestore", "users", outputs, converted, progress=False)
    source = _records(converted, "users")
    assert first.written == len(source) and second.in_target == len(source)
    client = firestore.Client(project=outputs["gcp_project"])
    doc = client.collection(outputs["firestore_collections"]["users"]).document(str(source[3]["id"])).get()
    assert doc.to_dict() == source[3]


def test_dynamodb_round_trip_with_decimals(platform: Any, converted: Path) -> None:
    from contract.clients import dynamodb_resource

    outputs = platform("moto")
    report = load_dataset("dynamodb", "cards", outputs, converted, progress=False)
    again = load_dataset("dynamodb", "cards", outputs, converted, progress=False)
    source = _records(converted, "cards")
    assert report.written == again.written == len(source) and report.failed == 0
    table = dynamodb_resource(outputs).Table(outputs["dynamodb_tables"]["cards"])
    card = source[11]
    item = table.get_item(Key={"id": card["id"], "client_id": card["client_id"]})["Item"]
    assert item["credit_limit"] == Decimal(str(card["credit_limit"]))
    assert item["card_brand"] == card["card_brand"] and item["has_chip"] is card["has_chip"]


def test_dynamodb_without_a_table_for_the_dataset_is_a_clear_error(
    platform: Any, converted: Path, outputs_file: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = platform("moto")
    assert "mcc_codes" not in outputs["dynamodb_tables"] and (converted / "mcc_codes.jsonl").exists()
    # the stack's real outputs, so the CLI gets as far as the missing table (an unreadable file exits 1 before it)
    command = ["load", "-d", "dynamodb", "--dataset", "mcc_codes", "--outputs", str(outputs_file(outputs)),
               "--source", str(converted), "--no-progress"]  # fmt: skip
    capsys.readouterr()
    assert cli(command) == 1
    err = capsys.readouterr().err
    assert "dynamodb: the stack declares no table for dataset 'mcc_codes'" in " ".join(err.split()), err
    assert "Traceback" not in err
    from loaders.load import LoadError

    with pytest.raises(LoadError, match="no table for dataset 'mcc_codes'"):
        load_dataset("dynamodb", "mcc_codes", outputs, converted, progress=False)


def test_kafka_sends_registered_json_once_and_resumes_after_a_kill(
    platform: Any, converted: Path, outputs_file: Any, tmp_path: Path
) -> None:
    outputs = _private(platform("kafka", "registry"), "transactions", "kafka_topics")
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
    source = _records(converted, "transactions")
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


def test_outputs_file_and_devstack_outputs_load_the_same(platform: Any, converted: Path, outputs_file: Any) -> None:
    """The CLI fed an outputs file and load_dataset fed the outputs, each into a table of its own: the same items,
    each the source's record."""
    outputs = platform("moto")
    by_file, direct = (_private(outputs, "users", "dynamodb_tables") for _ in range(2))
    tables = [_create_table(o, "users") for o in (by_file, direct)]
    try:
        assert cli(["load", "-d", "dynamodb", "--dataset", "users", "--outputs", str(outputs_file(dict(by_file))),
                    "--source", str(converted), "--no-progress"]) == 0  # fmt: skip
        load_dataset("dynamodb", "users", direct, converted, progress=False)
        loaded = [_scan(table) for table in tables]
    finally:
        for table in tables:
            table.delete()
    source = _records(converted, "users")
    assert loaded[0] == loaded[1]
    assert len(loaded[0]) == len(source)
    item = loaded[0][str(source[7]["id"])]
    assert {k: float(v) if isinstance(v, Decimal) else v for k, v in item.items()} == source[7]


def _create_table(outputs: Mapping[str, Any], dataset: str) -> Any:
    from contract.clients import dynamodb_resource
    from schemas import load as load_schema

    keys = load_schema(dataset).dynamodb_keys()
    return dynamodb_resource(outputs).create_table(
        TableName=outputs["dynamodb_tables"][dataset],
        KeySchema=[{"AttributeName": k.attribute, "KeyType": k.role} for k in keys],
        AttributeDefinitions=[{"AttributeName": k.attribute, "AttributeType": k.type} for k in keys],
        BillingMode="PAY_PER_REQUEST",
    )


def _scan(table: Any) -> dict[str, dict[str, Any]]:
    """Every item of the table, by id."""
    items: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        items.update({str(item["id"]): item for item in page["Items"]})
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.mark.parametrize(
    ("target", "key"), [("mongodb", "mongodb_collections"), ("firestore", "firestore_collections")]
)
def test_the_last_version_of_a_key_wins_across_concurrent_batches(
    platform: Any, converted: Path, tmp_path: Path, target: str, key: str
) -> None:
    """Batches go out several at once; a key's versions still land in source order, so the last one stays."""
    from loaders.load import BATCH_SIZE

    outputs = _private(platform("ferretdb", "firestore"), "cards", key)
    cards = _records(converted, "cards")
    # every card twice, the second version (other credit limit) more than all lanes' batches later
    first = cards * (1 + 8 * BATCH_SIZE // len(cards))
    later = [{**card, "credit_limit": card["credit_limit"] + 1.5} for card in cards]
    (tmp_path / "cards.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [*first, *later]))
    report = load_dataset(target, "cards", outputs, tmp_path, progress=False)
    assert (report.failed, report.in_target) == (0, len(cards))
    stored = _stored_credit_limits(target, outputs, [str(c["id"]) for c in cards])
    assert stored == {str(c["id"]): c["credit_limit"] for c in later}


def _stored_credit_limits(target: str, outputs: Mapping[str, Any], ids: list[str]) -> dict[str, float]:
    if target == "mongodb":
        import pymongo

        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(outputs["mongodb_uri"])
        collection = client[outputs["mongodb_database"]][outputs["mongodb_collections"]["cards"]]
        try:
            return {d["_id"]: d["credit_limit"] for d in collection.find({}, {"credit_limit": True})}
        finally:
            collection.drop()
            client.close()
    from contract.clients import firestore_client

    fs = firestore_client(outputs)
    refs = [fs.collection(outputs["firestore_collections"]["cards"]).document(i) for i in ids]
    return {snap.id: snap.to_dict()["credit_limit"] for snap in fs.get_all(refs)}


def test_dynamodb_items_carry_the_floats_json_digits() -> None:
    from loaders.sinks.dynamodb import to_item

    record = {"id": 1, "amount": 0.1 + 0.2, "limit": 1e16, "tiny": 1e-7, "nested": {"x": [2.5, "a"]}, "none": None}
    assert to_item(record) == json.loads(json.dumps(record), parse_float=Decimal)
    assert str(to_item(record)["amount"]) == "0.30000000000000004"


def test_a_key_is_always_written_by_the_same_lane(converted: Path) -> None:
    """The routing that keeps per-key order: with several lanes, every version of a key goes through one thread
    (a recording sink, since which thread wrote what cannot be read back from a server)."""
    import threading

    from loaders.batching import Lanes
    from loaders.sinks.base import BatchResult

    writers: dict[int, set[str]] = {}

    class Recording:
        target, where, lanes = "recording", "here", 4

        def write(self, records: list[dict[str, Any]]) -> BatchResult:
            time.sleep(0.001)  # let the lanes overlap
            for record in records:
                writers.setdefault(record["id"], set()).add(threading.current_thread().name)
            return BatchResult(written=len(records))

    written: list[int] = []

    def account(batch: Any, result: BatchResult) -> None:
        written.append(result.written)

    lanes = Lanes(Recording().write, 4, 50, account, lambda card: str(card["id"]))
    once = _records(converted, "cards")
    # a key's versions at uneven distances: lanes chosen by position would split them
    cards = once + once[1:] + once + once[2:]
    for number, card in enumerate(cards, start=1):
        # every other one with its id's bytes given (a checked line's, from the kernel): the same lane
        lanes.add(number, card, str(card["id"]).encode() if number % 2 else None)
    lanes.drain()
    lanes.close()
    assert sum(written) == len(cards)
    assert all(len(threads) == 1 for threads in writers.values())
    assert len({t for threads in writers.values() for t in threads}) == 4


@pytest.mark.parametrize("lanes", [1, 3])
def test_lanes_sets_how_many_threads_write(
    platform: Any, converted: Path, monkeypatch: pytest.MonkeyPatch, lanes: int
) -> None:
    """`lanes` overrides the sink's own choice: one lane writes in the caller's thread, N lanes in N threads."""
    import threading

    import pymongo

    from loaders.sinks.mongodb import MongoSink

    threads: set[str] = set()
    write_documents = MongoSink.write_documents

    def recording(self: MongoSink, docs: list[dict[str, Any]]) -> Any:
        threads.add(threading.current_thread().name)
        return write_documents(self, docs)

    monkeypatch.setattr(MongoSink, "write_documents", recording)
    outputs = _private(platform("ferretdb"), "transactions", "mongodb_collections")
    report = load_dataset("mongodb", "transactions", outputs, converted, progress=False, lanes=lanes)
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(outputs["mongodb_uri"])
    client[outputs["mongodb_database"]][outputs["mongodb_collections"]["transactions"]].drop()
    client.close()
    rows = len(_records(converted, "transactions"))
    assert (report.written, report.failed, report.in_target) == (rows, 0, rows)
    if lanes == 1:
        assert threads == {threading.current_thread().name}
    else:
        assert len(threads) == lanes and all(name.startswith("load-lane-") for name in threads)


def test_lanes_below_one_are_refused(converted: Path) -> None:
    from loaders.load import LoadError

    with pytest.raises(LoadError, match="lanes must be 1 or more, not 0"):
        # no outputs at all: the lanes are refused before any is read
        load_dataset("mongodb", "transactions", cast(StackOutputs, {}), converted, progress=False, lanes=0)
    with pytest.raises(SystemExit) as exit_:
        cli(["load", "-d", "mongodb", "--outputs", "x.json", "--lanes", "0"])
    assert exit_.value.code == 2


def test_a_server_on_this_machine_gets_a_lane_per_core_one_elsewhere_the_remote_lanes(
    platform: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from loaders.load import open_sink
    from loaders.sinks.base import REMOTE_LANES, endpoint_host, lanes_for

    # the core count set, and the lanes written out: one per core, never fewer than 2
    for cores, lanes in ((6, 6), (2, 2), (1, 2), (None, 2)):
        monkeypatch.setattr(os, "cpu_count", lambda cores=cores: cores)
        assert lanes_for(["localhost"]) == lanes_for(["127.0.0.1", "::1"]) == lanes, cores
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert lanes_for(endpoint_host("http://[::1]:8085")) == lanes_for(endpoint_host("127.0.0.1:8085")) == 6
    assert lanes_for(["db.example.com"]) == lanes_for(["localhost", "10.0.0.5"]) == REMOTE_LANES == 4
    assert lanes_for(endpoint_host(None)) == 4  # a cloud service: no endpoint in the outputs
    outputs = platform("ferretdb", "firestore")
    for target in ("mongodb", "firestore"):
        sink = open_sink(target, "transactions", outputs, tmp_path)
        sink.close()
        assert getattr(sink, "lanes", None) == 6, target
