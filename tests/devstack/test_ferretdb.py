"""FerretDB (devstack): pymongo insert, filtered and sorted find, idempotent bulk upserts (replace and $set),
counts. Each run uses its own collection (cards name + suffix), so data other tests keep there is untouched."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from contract import naming

pytestmark = pytest.mark.devstack


def test_insert_find_and_idempotent_upserts(devstack: Any) -> None:
    import pymongo
    from pymongo import ReplaceOne, UpdateOne

    outputs = devstack("ferretdb")
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(outputs["mongodb_uri"])
    run = uuid.uuid4().hex[:8]
    collection = client[naming.mongodb_database("kde")][f"{naming.mongodb_collection('kde', 'cards')}-{run}"]
    try:
        collection.insert_many([{"_id": i, "client_id": i % 3, "credit_limit": 100.5 * i} for i in range(10)])
        found = list(collection.find({"client_id": 1}).sort("credit_limit", pymongo.DESCENDING))
        assert [d["_id"] for d in found] == [7, 4, 1]
        assert found[0]["credit_limit"] == pytest.approx(703.5)

        upserts = [ReplaceOne({"_id": i}, {"_id": i, "client_id": 9, "v": i}, upsert=True) for i in range(5, 15)]
        first = collection.bulk_write(upserts, ordered=False)
        assert (first.upserted_count, first.modified_count) == (5, 5)
        second = collection.bulk_write(upserts, ordered=False)
        assert (second.upserted_count, second.modified_count) == (0, 0)
        assert collection.count_documents({}) == 15
        assert collection.count_documents({"client_id": 9}) == 10

        updates = [UpdateOne({"_id": i}, {"$set": {"tier": "gold"}}, upsert=True) for i in range(10, 20)]
        first = collection.bulk_write(updates, ordered=False)
        assert (first.upserted_count, first.modified_count) == (5, 5)
        second = collection.bulk_write(updates, ordered=False)
        assert (second.upserted_count, second.modified_count, second.matched_count) == (0, 0, 10)
        assert collection.count_documents({}) == 20
        assert collection.count_documents({"tier": "gold"}) == 10
        assert collection.find_one({"_id": 12}) == {"_id": 12, "client_id": 9, "v": 12, "tier": "gold"}
    finally:
        collection.drop()
        client.close()


def test_lookups_by_string_id_use_the_id_index(devstack: Any) -> None:
    """devstack builds FerretDB with its _id lookup expression matching its _id index (see
    devstack/services/ferretdb.py); unpatched, every find, update and delete by _id scans the collection."""
    import pymongo

    outputs = devstack("ferretdb")
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(outputs["mongodb_uri"])
    collection = client[naming.mongodb_database("kde")][f"index-probe-{uuid.uuid4().hex[:8]}"]
    try:
        collection.insert_many([{"_id": str(i), "n": i} for i in range(100)])
        plan = collection.find({"_id": "42"}).explain()["queryPlanner"]["Plan"]
        assert any("USING INDEX" in step for step in plan), plan
        assert collection.find_one({"_id": "42"}) == {"_id": "42", "n": 42}
    finally:
        collection.drop()
        client.close()
