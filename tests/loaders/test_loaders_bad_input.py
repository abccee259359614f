"""Bad input and dead servers against the real local services (devstack): every target refuses the same bad
records (wrong type, unknown field, no key) into the quarantine with line, key, field and reason, writes the
rest of the batch, leaves what is stored alone and exits 1; an unreachable MongoDB or Kafka, a name missing
from the outputs and a closed pipe are one line (or none), quickly, without a traceback."""

from __future__ import annotations

import copy
import json
import random
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from loaders.cli import main as cli
from loaders.load import OUTPUT_MAPS

pytestmark = pytest.mark.devstack
REPO = Path(__file__).resolve().parents[2]
DATASET = "transactions"
#: what each target needs running
SERVICES = {
    "mongodb": ("ferretdb",),
    "firestore": ("firestore",),
    "dynamodb": ("moto",),
    "kafka": ("kafka", "registry"),
}


def _transaction(tx_id: int, amount: float) -> dict[str, Any]:
    return {"id": tx_id, "date": "2010-01-01T00:01:00", "client_id": 1556, "card_id": 2972, "amount": amount,
            "use_chip": "Swipe Transaction", "merchant_id": 59935, "merchant_city": "Beulah", "merchant_state": "ND",
            "zip": "58523", "mcc": 5499, "errors": None}  # fmt: skip


def _write_jsonl(folder: Path, records: list[Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{DATASET}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def _private(outputs: dict[str, Any], target: str) -> dict[str, Any]:
    """A collection/topic of this test's own (DynamoDB's tables are the stack's: ids of its own instead)."""
    mine = copy.deepcopy(outputs)
    if target != "dynamodb":
        mine[OUTPUT_MAPS[target]][DATASET] = f"test-bad-{uuid.uuid4().hex[:8]}"
    if target == "kafka":
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": mine["kafka_bootstrap_servers"]})
        topic = mine["kafka_topics"][DATASET]
        for future in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
            future.result(timeout=30)
    return mine


def _stored(target: str, outputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What the target holds for this test's records, by id as a string."""
    name = outputs[OUTPUT_MAPS[target]][DATASET]
    if target == "mongodb":
        from contract.clients import mongo_client

        client = mongo_client(outputs)
        try:
            return {
                d["_id"]: {k: v for k, v in d.items() if k != "_id"}
                for d in client[outputs["mongodb_database"]][name].find()
            }
        finally:
            client.close()
    if target == "firestore":
        from contract.clients import firestore_client

        return {doc.id: doc.to_dict() for doc in firestore_client(outputs).collection(name).stream()}
    if target == "kafka":
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer({"bootstrap.servers": outputs["kafka_bootstrap_servers"], "group.id": uuid.uuid4().hex})
        end = consumer.get_watermark_offsets(TopicPartition(name, 0), timeout=10)[1]
        consumer.assign([TopicPartition(name, 0, 0)])
        values: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while len(values) < end and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                values.append(json.loads((msg.value() or b"")[5:]))  # after the registry's 5-byte prefix
        consumer.close()
        assert len(values) == end, f"read {len(values)} of {end} messages"
        return {str(v["id"]): v for v in values}
    raise AssertionError(target)


def _dynamodb_items(outputs: dict[str, Any], ids: list[int]) -> dict[str, dict[str, Any]]:
    from contract.clients import dynamodb_resource

    table = dynamodb_resource(outputs).Table(outputs["dynamodb_tables"][DATASET])
    found = {}
    for tx_id in ids:
        item = table.get_item(Key={"id": tx_id}).get("Item")
        if item is not None:
            found[str(tx_id)] = json.loads(json.dumps(item, default=float))
    return found


@pytest.mark.parametrize("target", ["mongodb", "firestore", "dynamodb", "kafka"])
def test_bad_records_are_quarantined_and_overwrite_nothing(
    target: str, platform: Any, outputs_file: Any, tmp_path: Path
) -> None:
    outputs = _private(platform(*SERVICES[target]), target)
    path = outputs_file(outputs)
    base = random.randrange(10**9, 2 * 10**9)  # ids of this run only (DynamoDB's table is shared)
    first, second, new = base, base + 1, base + 2
    load = ["load", "-d", target, "--dataset", DATASET, "--outputs", str(path), "--no-progress"]

    good = _write_jsonl(tmp_path / "good", [_transaction(first, 29.22), _transaction(second, 12.5)])
    assert cli([*load, "--source", str(good)]) == 0

    no_key = _transaction(base + 3, 1.0)
    del no_key["id"]
    batch = [
        _transaction(new, 7.0),  # line 1: valid
        {**_transaction(first, 0.0), "amount": "abc"},  # line 2: wrong type, would overwrite `first`
        {**_transaction(second, 99.0), "surprise": "x"},  # line 3: a field the (closed) schema does not know
        no_key,  # line 4: no key
    ]
    bad = _write_jsonl(tmp_path / "bad", batch)
    assert cli([*load, "--source", str(bad)]) == 1

    ids = [first, second, new]
    stored = _dynamodb_items(outputs, ids) if target == "dynamodb" else _stored(target, outputs)
    assert set(stored) == {str(i) for i in ids}, "exactly the good records and the valid new one are stored"
    assert stored[str(first)]["amount"] == 29.22
    assert stored[str(second)]["amount"] == 12.5 and "surprise" not in stored[str(second)]
    assert stored[str(new)]["amount"] == 7.0

    quarantine = bad / "_rejected" / f"load-{target}-{DATASET}.jsonl"
    entries = [json.loads(line) for line in quarantine.read_text().splitlines()]
    assert [(e["line"], e["key"], e["field"]) for e in entries] == [
        (2, str(first), "amount"),
        (3, str(second), "surprise"),
        (4, None, "id"),
    ]
    assert all(e["file"] == str(bad / f"{DATASET}.jsonl") for e in entries)
    assert "'abc' is not of type 'number'" in entries[0]["reason"]
    assert "'surprise' was unexpected" in entries[1]["reason"]
    assert "'id' is a required property" in entries[2]["reason"]
    assert entries[1]["record"] == batch[2]


def _dead_port() -> int:
    """A port nothing listens on (bound for a moment by us, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _run_load(target: str, outputs: dict[str, Any], folder: Path, *extra: str) -> tuple[int, list[str]]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "outputs.json"
    path.write_text(json.dumps(outputs))
    source = _write_jsonl(folder / "json", [_transaction(1, 1.0)])
    command = [sys.executable, "-m", "loaders", "load", "-d", target, "--outputs", str(path), "--source",
               str(source), "--no-progress", *extra]  # fmt: skip
    # the timeout only guards against a hang; how fast a dead server is reported is benchmarks/' business
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    return proc.returncode, lines


@pytest.mark.parametrize("target", ["mongodb", "kafka"])
def test_an_unreachable_server_is_one_line_naming_it(target: str, platform: Any, tmp_path: Path) -> None:
    outputs = copy.deepcopy(platform("ferretdb", "kafka", "registry"))
    port = _dead_port()
    if target == "mongodb":
        outputs["mongodb_uri"] = f"mongodb://user:s3cret@127.0.0.1:{port}/"
    else:
        outputs["kafka_bootstrap_servers"] = f"127.0.0.1:{port}"
    code, lines = _run_load(target, outputs, tmp_path, "--dataset", DATASET)
    assert code == 1
    assert len(lines) == 1, lines
    assert target in lines[0] and f"127.0.0.1:{port}" in lines[0]
    assert "s3cret" not in lines[0]


def test_an_empty_map_in_the_outputs_is_one_line_naming_the_key(platform: Any, tmp_path: Path) -> None:
    outputs = {**platform("ferretdb"), "mongodb_collections": {}}
    code, lines = _run_load("mongodb", outputs, tmp_path / "all")
    assert code == 1 and len(lines) == 1 and "mongodb_collections" in lines[0], lines
    code, lines = _run_load("mongodb", outputs, tmp_path / "one", "--dataset", DATASET)
    assert code == 1 and len(lines) == 1 and f"mongodb_collections.{DATASET}" in lines[0], lines


def test_devstack_outputs_into_a_closed_pipe_exits_quietly(devstack: Any) -> None:
    devstack("moto")
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack", "outputs"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first write, as `| head -1` is after its line
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
