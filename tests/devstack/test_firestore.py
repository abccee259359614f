"""Firestore (devstack): google-cloud-firestore against the emulator, through FIRESTORE_EMULATOR_HOST as the
loaders connect: batched commits, get, get_all, where-queries, order_by + limit and count()."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from _streaming_records import cards_record

from contract import naming

pytestmark = pytest.mark.devstack

BATCH_LIMIT = 500  # Firestore's cap on writes per commit


@pytest.fixture
def firestore_client(devstack: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from google.cloud import firestore

    outputs = devstack("firestore")
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", outputs["endpoints"]["firestore"])
    return firestore.Client(project=outputs["gcp_project"], database=outputs["firestore_database"])


@pytest.fixture
def cards(devstack: Any) -> str:
    devstack("firestore")
    return naming.firestore_collection("cards")


def _write_run(client: Any, collection: str, run: str, count: int) -> None:
    """`count` cards tagged with `run`, in batched commits of at most 500 writes; client_id cycles 0..6."""
    coll = client.collection(collection)
    batch, pending = client.batch(), 0
    for card_id in range(count):
        batch.set(coll.document(f"{run}-{card_id}"), {**cards_record(card_id), "client_id": card_id % 7, "run": run})
        pending += 1
        if pending == BATCH_LIMIT:
            batch.commit()
            batch, pending = client.batch(), 0
    if pending:
        batch.commit()


def test_batched_commits_then_get_and_get_all(firestore_client: Any, cards: str) -> None:
    run = uuid.uuid4().hex[:8]
    _write_run(firestore_client, cards, run, 520)  # two commits: 500 + 20

    coll = firestore_client.collection(cards)
    snap = coll.document(f"{run}-519").get()
    assert snap.exists
    assert snap.to_dict() == {**cards_record(519), "client_id": 519 % 7, "run": run}
    assert not coll.document(f"{run}-520").get().exists

    refs = [coll.document(f"{run}-{i}") for i in (0, 250, 500, 9999)]
    found = {s.id: s.to_dict()["id"] for s in firestore_client.get_all(refs) if s.exists}
    assert found == {f"{run}-0": 0, f"{run}-250": 250, f"{run}-500": 500}


def test_where_queries_order_by_limit_and_count(firestore_client: Any, cards: str) -> None:
    from google.cloud.firestore_v1.base_query import FieldFilter

    run = uuid.uuid4().hex[:8]
    _write_run(firestore_client, cards, run, 60)
    ours = firestore_client.collection(cards).where(filter=FieldFilter("run", "==", run))

    client_3 = ours.where(filter=FieldFilter("client_id", "==", 3)).stream()
    assert sorted(s.to_dict()["id"] for s in client_3) == [i for i in range(60) if i % 7 == 3]

    picked = ours.where(filter=FieldFilter("id", "in", [2, 40, 77])).stream()
    assert sorted(s.id for s in picked) == [f"{run}-2", f"{run}-40"]

    top = ours.order_by("id", direction="DESCENDING").limit(5).stream()
    assert [s.to_dict()["id"] for s in top] == [59, 58, 57, 56, 55]

    [[total]] = ours.count(alias="n").get()
    assert (total.alias, total.value) == ("n", 60)
    [[client_0]] = ours.where(filter=FieldFilter("client_id", "==", 0)).count().get()
    assert client_0.value == len(range(0, 60, 7))


def test_update_and_delete_are_read_back(firestore_client: Any, cards: str) -> None:
    run = uuid.uuid4().hex[:8]
    _write_run(firestore_client, cards, run, 2)
    coll = firestore_client.collection(cards)

    coll.document(f"{run}-0").update({"credit_limit": 100.5, "card_on_dark_web": True})
    data = coll.document(f"{run}-0").get().to_dict()
    assert (data["credit_limit"], data["card_on_dark_web"], data["card_brand"]) == (100.5, True, "Visa")

    coll.document(f"{run}-1").delete()
    assert not coll.document(f"{run}-1").get().exists


def test_document_ids_named_like_object_properties_are_documents(firestore_client: Any, cards: str) -> None:
    """devstack's server.js replaces the library's document lookup (which copied the whole collection for each
    new document); its own-property check also makes ids such as `constructor` ordinary documents."""
    collection = firestore_client.collection(f"{cards}-{uuid.uuid4().hex[:8]}")
    names = ["constructor", "toString", "__proto__x", "plain"]
    batch = firestore_client.batch()
    for i, name in enumerate(names):
        batch.set(collection.document(name), {"n": i})
    batch.commit()
    assert {s.id: s.to_dict() for s in collection.stream()} == {n: {"n": i} for i, n in enumerate(names)}
    assert collection.document("constructor").get().to_dict() == {"n": 0}
