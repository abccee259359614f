"""devstack's FerretDB pushes numeric range and `$mod` pre-filters into SQLite (devstack/go/ferretdb/_patch/).
The pre-filter must never drop a document FerretDB's own filter would match: every query below runs on the
session's server and on a second one started from the same build with the pre-filter off, and both must return
the same documents, over values where a pre-filter could go wrong (arrays, which match a range by any element;
nested documents, strings, null, a missing field; doubles around integers, beyond int64 and near the largest
double; int64 near 2^63; negatives under `$mod`). `explain` says where the pre-filter applies."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.config import DevstackConfig
from devstack.process import free_port
from devstack.services.ferretdb import FerretDB

pytestmark = pytest.mark.devstack

I63 = 2**63
VALUES: list[Any] = [
    0, 1, -1, 3, 5, 10, -7, 2**31 - 1, -(2**31), 2**62, I63 - 1, I63 - 2, -I63, -I63 + 1,
    0.0, -0.0, 0.1, 0.30000000000000004, 2.5, -2.5, 4.999999999999999, 5.0, 5.000000000000001, -5.5,
    1e20, -1e20, 9.223372036854776e18, -9.223372036854776e18, 1e300, -1e300, 5e-324, 1.7976931348623157e308,
    [1, 10], [], [{"a": 1}, 4], [-5, "a"], [I63 - 1], [2.5, None], [7, 8, 9],
    {"a": 1}, {"x": 5}, "5", "", "abc", None, True, False, dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
]  # fmt: skip
BOUNDS: list[Any] = [
    -I63, -1e20, -2.5, -1, -0.0, 0, 0.1, 1, 2.5, 4.999999999999999, 5, 5.000000000000001, 10, 2**31, 2**62,
    I63 - 1, 9.223372036854776e18, 1e20, 1.7976931348623157e308,
]  # fmt: skip
MODS: list[list[int]] = [[d, r] for d in (1, 2, 3, -3, 7, 2**62, -1) for r in (-2, -1, 0, 1, 2)]


class UnfilteredFerretDB(FerretDB):
    """The same build, with the pre-filter off: what FerretDB's own filter answers alone."""

    def env(self) -> dict[str, str]:
        return {**super().env(), "DEVSTACK_FERRETDB_PREFILTER": "off"}


def start_sibling(
    devstack: Any, tmp_path_factory: pytest.TempPathFactory, kind: type[FerretDB], label: str
) -> FerretDB:
    """A FerretDB of class `kind` (the session's build, its own settings) started on a free port, its data apart."""
    home = Path(tmp_path_factory.mktemp(label))
    (home / "install").symlink_to(devstack.service("ferretdb").cfg.install_dir)
    server = kind(DevstackConfig(home=home, ports={"ferretdb": free_port()}))
    server.start()
    return server


@pytest.fixture(scope="module")
def collections(devstack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """The same documents in the session's FerretDB (pre-filter on) and in an unfiltered one."""
    import pymongo

    outputs = devstack("ferretdb")
    unfiltered: FerretDB | None = None
    clients: list[Any] = []
    name = f"pushdown-{uuid.uuid4().hex[:8]}"
    pair: tuple[Any, ...] = ()
    try:
        unfiltered = start_sibling(devstack, tmp_path_factory, UnfilteredFerretDB, "ferretdb-unfiltered")
        clients = [pymongo.MongoClient(uri) for uri in (outputs["mongodb_uri"], unfiltered.uri)]
        pair = tuple(client["kde-test"][name] for client in clients)
        docs = [{"_id": i, "x": v, "y": VALUES[(i * 7) % len(VALUES)], "a b": v} for i, v in enumerate(VALUES)]
        docs.append({"_id": len(docs), "y": 1})  # no x
        for collection in pair:
            collection.insert_many(docs)
        yield pair[0], pair[1]
    finally:
        for collection in pair:
            collection.drop()
        for client in clients:
            client.close()
        if unfiltered is not None:
            unfiltered.stop()


def ids(collection: Any, query: dict[str, Any]) -> list[Any]:
    return sorted(doc["_id"] for doc in collection.find(query, projection={"_id": True}))


def pushed(collection: Any, query: dict[str, Any]) -> bool:
    return bool(collection.find(query).explain()["filterPushdown"])


def range_filters() -> Iterator[dict[str, Any]]:
    from bson.int64 import Int64

    for op, bound in itertools.product(("$gt", "$gte", "$lt", "$lte"), BOUNDS):
        yield {"x": {op: bound}}
        if type(bound) is int and -I63 <= bound < I63:
            yield {"x": {op: Int64(bound)}}
    for low, high in itertools.combinations(BOUNDS[::3], 2):
        yield {"x": {"$gte": low, "$lt": high}}
        yield {"x": {"$gt": high, "$lte": low}}  # empty for numbers


def mod_filters() -> Iterator[dict[str, Any]]:
    for mod in MODS:
        yield {"x": {"$mod": mod}}
    for low, mod in itertools.product((-I63, -3, 0, 5, 2**62), ([2, 0], [2, 1], [3, -1], [7, 2])):
        yield {"x": {"$gte": low, "$mod": mod}}
    yield {"x": {"$gte": 0, "$mod": [3, 1]}, "y": {"$lt": 5}}  # two fields, ANDed


def test_pushed_ranges_and_mods_return_what_unfiltered_ferretdb_returns(collections: tuple[Any, Any]) -> None:
    ours, unfiltered = collections
    checked = 0
    for query in itertools.chain(range_filters(), mod_filters()):
        assert pushed(ours, query) and not pushed(unfiltered, query), query
        assert ids(ours, query) == ids(unfiltered, query), query
        checked += 1
    assert checked > 200
    # and it does filter: a range only integers and exact doubles fall in
    assert ids(ours, {"x": {"$gte": 3, "$lte": 5}}) == [3, 4, 20, 21, 32, 34]


def test_count_and_aggregate_match_take_the_pre_filter_too(collections: tuple[Any, Any]) -> None:
    ours, unfiltered = collections
    for query in ({"x": {"$lt": 5}}, {"x": {"$mod": [2, 1]}}, {"x": {"$gte": -2.5, "$lte": 1e20}}):
        assert ours.count_documents(query) == unfiltered.count_documents(query) > 0, query
        pipeline = [{"$match": query}, {"$sort": {"_id": 1}}]
        assert list(ours.aggregate(pipeline)) == list(unfiltered.aggregate(pipeline)), query


def test_what_the_pre_filter_cannot_take_is_left_to_ferretdb_whole(collections: tuple[Any, Any]) -> None:
    """Anything but numeric ranges and `$mod` on plain top-level fields is not pushed at all (not even the
    fields that could be), so FerretDB's filter sees every document and fails where it would fail."""
    from pymongo.errors import OperationFailure

    ours, unfiltered = collections
    untouched: list[dict[str, Any]] = [
        {"x": {"$lt": "5"}},  # a string bound
        {"x": {"$lt": float("inf")}},
        {"x": {"$gte": 1, "$ne": 3}},  # another operator beside
        {"x": 5},  # equality
        {"x": {"$lt": 5}, "y": 1},  # an equality beside
        {"a b": {"$lt": 5}},  # a field name the JSON path would need escaping for
        {"x.a": {"$lt": 5}},
        {"$or": [{"x": {"$lt": 0}}, {"x": {"$gt": 5}}]},
        {"x": {"$mod": [2.0, 1]}},  # FerretDB truncates doubles; not worth pushing
    ]
    for query in untouched:
        assert not pushed(ours, query), query
        assert ids(ours, query) == ids(unfiltered, query), query
    for bad in ({"x": {"$mod": [0, 1]}}, {"x": {"$mod": [3]}}, {"x": {"$gte": -1e300, "$bogus": 1}}):
        for collection in collections:
            with pytest.raises(OperationFailure):
                ids(collection, bad)
    assert not pushed(ours, {"x": {"$mod": [0, 1]}})
