"""Firestore (devstack's emulator with its journal): every committed write is there after a kill -9 or a stop, with
its create and update times, through the journal's replay and through the snapshot a compaction wrote; a commit a
kill tore in the middle of its journal record is cut off and the rest loads."""

from __future__ import annotations

import datetime
import math
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from _streaming_records import cards_record

from contract import naming
from contract.clients import firestore_client
from devstack.config import DevstackConfig
from devstack.services.firestore import FirestoreEmulator

pytestmark = pytest.mark.devstack

BATCH_LIMIT = 500


def _emulator() -> FirestoreEmulator:
    return FirestoreEmulator(DevstackConfig.from_env())


def _every_kind_of_value(client: Any) -> dict[str, Any]:
    from google.cloud.firestore import GeoPoint  # type: ignore[attr-defined]

    return {
        "null": None,
        "flag": True,
        "count": 2**53 - 1,
        "ratio": 0.1,
        "infinite": float("inf"),
        "nan": float("nan"),
        "text": "é ✓",
        "blob": b"\x00\xffbytes",
        "when": datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.UTC),
        "where": GeoPoint(52.5, 13.4),
        "ref": client.collection("other").document("x"),
        "list": [1, "two", {"three": 3}],
        "nested": {"deep": {"deeper": [None, False]}, "__proto__": "an ordinary key"},
    }


def _write(client: Any, collection: str) -> None:
    """520 cards in two commits, then an update with transforms, a delete, a subcollection, every value type."""
    from google.cloud import firestore

    coll = client.collection(collection)
    batch, pending = client.batch(), 0
    for card_id in range(520):
        batch.set(coll.document(str(card_id)), cards_record(card_id))
        pending += 1
        if pending == BATCH_LIMIT:
            batch.commit()
            batch, pending = client.batch(), 0
    batch.commit()
    coll.document("1").update({"credit_limit": firestore.Increment(5), "seen": firestore.SERVER_TIMESTAMP})
    coll.document("2").delete()
    coll.document("3").collection("history").document("first").set({"step": 1})
    coll.document("kinds").set(_every_kind_of_value(client))


def _state(client: Any, collection: str) -> dict[str, Any]:
    """Every document of the collection (and the one subcollection) with its times; NaN as a marker, for ==."""
    coll = client.collection(collection)
    docs = [*coll.stream(), coll.document("3").collection("history").document("first").get()]
    found = {}
    for snap in docs:
        data = snap.to_dict()
        if isinstance(data.get("nan"), float) and math.isnan(data["nan"]):
            data["nan"] = "NaN"
        found[snap.reference.path] = (data, snap.create_time, snap.update_time)
    return found


@pytest.mark.parametrize("how", ["kill -9", "stop"])
def test_every_committed_write_survives_restarts(
    devstack: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    outputs = devstack("firestore")
    client = firestore_client(outputs)
    collection = f"{naming.firestore_collection('cards')}-durable-{uuid.uuid4().hex[:8]}"
    _write(client, collection)
    emulator = _emulator()
    assert emulator.kill() if how == "kill -9" else emulator.stop(), "the Firestore emulator was not running"
    with monkeypatch.context() as env:
        env.setenv("FIRESTORE_EMULATOR_COMPACT", "always")
        emulator.start()  # the journal replayed, then compacted into a snapshot before serving
    after_replay = _state(client, collection)
    emulator.stop()
    emulator.start()  # the snapshot, and a journal with nothing in it
    after_snapshot = _state(client, collection)
    assert [p.stat().st_size for p in emulator.data_dir.glob("journal-*.log")] == [len(b"DSFJRNL1")]

    assert len(after_replay) == 520 - 1 + 1 + 1  # cards less the deleted one, the kinds, the subcollection's
    assert after_snapshot == after_replay
    data, created, updated = after_replay[f"{collection}/1"]
    assert data["credit_limit"] == cards_record(1)["credit_limit"] + 5
    assert updated > created and isinstance(data["seen"], datetime.datetime)
    assert f"{collection}/2" not in after_replay
    kinds = after_replay[f"{collection}/kinds"][0]
    expected = {**_every_kind_of_value(client), "nan": "NaN"}
    assert {k: v for k, v in kinds.items() if k != "ref"} == {k: v for k, v in expected.items() if k != "ref"}
    assert kinds["ref"].path == "other/x"


def test_a_precondition_sees_the_restored_documents(devstack: Callable[..., Any]) -> None:
    """create() of a document that exists fails after a restart, as before it: the state is the same, not a copy
    that lost what the library checks (existence, update times)."""
    from google.api_core.exceptions import Conflict

    client = firestore_client(devstack("firestore"))
    doc = client.collection(f"durable-{uuid.uuid4().hex[:8]}").document("only")
    doc.create({"n": 1})
    emulator = _emulator()
    assert emulator.kill()
    emulator.start()
    with pytest.raises(Conflict):
        doc.create({"n": 2})
    assert doc.get().to_dict() == {"n": 1}


def test_a_commit_torn_by_a_kill_is_cut_off(devstack: Callable[..., Any]) -> None:
    """A kill in the middle of appending a commit leaves part of its record: that commit never answered, so the
    start drops it, loads everything before it, and the next commits follow the last intact record."""
    client = firestore_client(devstack("firestore"))
    coll = client.collection(f"durable-torn-{uuid.uuid4().hex[:8]}")
    coll.document("kept").set({"n": 1})
    emulator = _emulator()
    assert emulator.kill()
    [journal] = sorted(emulator.data_dir.glob("journal-*.log"))[-1:]
    with journal.open("ab") as f:
        f.write((1000).to_bytes(4, "little") + b"\x01\x02\x03\x04" + b"part of a record")
    emulator.start()
    assert coll.document("kept").get().to_dict() == {"n": 1}
    coll.document("after").set({"n": 2})  # appended where the intact records end
    assert emulator.kill()
    emulator.start()
    assert {s.id: s.to_dict() for s in coll.stream()} == {"kept": {"n": 1}, "after": {"n": 2}}
