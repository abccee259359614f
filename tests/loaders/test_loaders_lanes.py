"""The lanes that write a load's batches concurrently: a key's last version wins, a key always goes through one
lane, and how many lanes a sink gets (against the real local services, devstack)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import pytest
from _loaders_records import private_outputs, read_records

from contract.outputs import StackOutputs
from loaders.cli import main as cli
from loaders.load import load_dataset

pytestmark = pytest.mark.devstack


@pytest.mark.parametrize(
    ("target", "key"), [("mongodb", "mongodb_collections"), ("firestore", "firestore_collections")]
)
def test_the_last_version_of_a_key_wins_across_concurrent_batches(
    platform: Any, converted: Path, tmp_path: Path, target: str, key: str
) -> None:
    """Batches go out several at once; a key's versions still land in source order, so the last one stays."""
    from loaders.load import BATCH_SIZE

    outputs = private_outputs(platform("ferretdb", "firestore"), "cards", key)
    cards = read_records(converted, "cards")
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
    once = read_records(converted, "cards")
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
    outputs = private_outputs(platform("ferretdb"), "transactions", "mongodb_collections")
    report = load_dataset("mongodb", "transactions", outputs, converted, progress=False, lanes=lanes)
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(outputs["mongodb_uri"])
    client[outputs["mongodb_database"]][outputs["mongodb_collections"]["transactions"]].drop()
    client.close()
    rows = len(read_records(converted, "transactions"))
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
