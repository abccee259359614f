"""devstack's FerretDB projects a find's documents in place when it asks for no projection or for {_id: 0}
(devstack/go/ferretdb/_patch/projection.go), and must answer exactly as FerretDB's own ProjectDocument does. The
same documents go into the session's server and into one started from the same build with
DEVSTACK_FERRETDB_PROJECTION=full (every document through FerretDB's code); every find is asked of both, as raw
BSON, and the bytes must be equal."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from bson import Int64, ObjectId
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from test_ferretdb_pushdown import start_sibling

from devstack.services.ferretdb import FerretDB

pytestmark = pytest.mark.devstack

RAW = CodecOptions(document_class=RawBSONDocument, tz_aware=True)
DOCS: list[dict[str, Any]] = [
    {"_id": 1, "a": 1, "b": "x", "c": {"d": [1, "two", None], "e": -2.5}},
    {"_id": "two", "a": Int64(2**40), "b": None, "when": dt.datetime(2015, 3, 4, 5, 6, 7, tzinfo=dt.UTC)},
    {"_id": ObjectId("5f0c1ab2c3d4e5f6a7b8c9d0"), "a": 3, "nested": {"_id": "inner", "a": 1}},
    {"b": "id inserted last", "a": 4, "_id": 4},  # FerretDB stores _id first
    {"_id": 5},
    *({"_id": 100 + n, "a": n, "b": f"row {n}", "c": n * 0.5} for n in range(250)),  # more than one batch
]
PROJECTIONS: list[dict[str, Any] | None] = [
    None, {}, {"_id": 0}, {"_id": False}, {"_id": 1}, {"_id": True}, {"a": 1}, {"a": 0}, {"_id": 0, "a": 1},
    {"a": 0, "_id": 0}, {"c.d": 1}, {"nested._id": 0}, {"b": 1, "_id": 0},
]  # fmt: skip
QUERIES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({}, {}),
    ({"a": {"$gte": 2}}, {}),
    ({}, {"sort": [("a", -1)], "skip": 3, "limit": 20}),
    ({"b": {"$exists": True}}, {"batch_size": 7}),
]


class FullProjection(FerretDB):
    """The session's build, every find's documents through FerretDB's own ProjectDocument."""

    def env(self) -> dict[str, str]:
        return {**super().env(), "DEVSTACK_FERRETDB_PROJECTION": "full"}


@pytest.fixture(scope="module")
def collections(devstack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The same documents in the session's FerretDB (in place) and in one that projects every document in full."""
    import pymongo

    outputs = devstack("ferretdb")
    full: FerretDB | None = None
    clients: dict[str, Any] = {}
    database = f"projection-{uuid.uuid4().hex[:8]}"
    try:
        full = start_sibling(devstack, tmp_path_factory, FullProjection, "ferretdb-projection")
        clients = {
            "in place": pymongo.MongoClient(outputs["mongodb_uri"]),
            "full": pymongo.MongoClient(full.uri),
        }
        for client in clients.values():
            client[database]["docs"].insert_many([dict(doc) for doc in DOCS])
        yield {name: client[database]["docs"].with_options(codec_options=RAW) for name, client in clients.items()}
    finally:
        for client in clients.values():
            client.drop_database(database)
            client.close()
        if full is not None:
            full.stop()


def read(collection: Any, query: dict[str, Any], options: dict[str, Any], projection: Any) -> list[bytes]:
    return [doc.raw for doc in collection.find(query, projection, **options)]


@pytest.mark.parametrize("projection", PROJECTIONS, ids=str)
def test_every_find_reads_the_bytes_ferretdb_s_own_projection_returns(
    collections: dict[str, Any], projection: dict[str, Any] | None
) -> None:
    for query, options in QUERIES:
        ours = read(collections["in place"], query, options, projection)
        theirs = read(collections["full"], query, options, projection)
        assert ours, (query, options)
        assert ours == theirs, (projection, query, options)


def test_a_projection_in_place_changes_nothing_stored(collections: dict[str, Any]) -> None:
    """{_id: 0} takes the _id off the document being returned, not off what the next find reads."""
    in_place = collections["in place"]
    assert all("_id" not in doc for doc in in_place.find({}, {"_id": 0}))
    assert [doc["_id"] for doc in in_place.find({}, {"_id": 1}).limit(5)] == [doc["_id"] for doc in DOCS[:5]]
    assert read(in_place, {}, {}, None) == read(collections["full"], {}, {}, None)
