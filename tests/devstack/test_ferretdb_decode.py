"""devstack's FerretDB decodes stored documents through a fast path (devstack/go/ferretdb/_patch/fastdecode.go)
that must return exactly what FerretDB's own decoder returns, or decline and leave the document to it. The same
documents go into the session's server (fast path on), one started from the same build with it off (FerretDB's
decoder alone) and one in strict mode (a declined document is an error, so a pass means the fast path decoded it);
each is read back as raw BSON, and the bytes must be equal everywhere and equal to the inserted document's."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import bson
import pytest
from bson import Binary, Int64, ObjectId, Regex, Timestamp
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ferretdb_pushdown import start_sibling

from devstack.services.ferretdb import FerretDB

pytestmark = pytest.mark.devstack

I32, I64 = 2**31, 2**63
UTC = dt.UTC
EVERY_TYPE: dict[str, list[Any]] = {
    "double": [
        0.0, -0.0, 1.5, -2.25, 0.1, 0.30000000000000004, 1e308, -1e308, 1.7976931348623157e308, 5e-324, -5e-324,
        2.2250738585072014e-308, 1e21, 1e-7, 123456789012345680.0, 9007199254740993.0, float(I64), -1234.5e-300,
    ],
    "int32": [0, 1, -1, 7, I32 - 1, -I32],
    "int64": [Int64(0), Int64(-1), Int64(I32 - 1), I32, -I32 - 1, 2**53 + 1, I64 - 1, -I64],
    "string": [
        "", "a", "City 7", 'quote " and backslash \\', "tab\t newline\n cr\r", "nul \x00 inside", "\x01\x1f\x7f",
        "é ü ß", "日本語", "emoji 😀 𝄞", "\u2028\u2029", "</script>&<>", "\ufffd", "\\u0041 is not A", "a" * 5000,
    ],
    "bool": [True, False],
    "null": [None],
    "date": [
        dt.datetime(1970, 1, 1, tzinfo=UTC), dt.datetime(1900, 1, 1, tzinfo=UTC),
        dt.datetime(2015, 3, 4, 5, 6, 7, 8000, tzinfo=UTC), dt.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        dt.datetime(1, 1, 1, tzinfo=UTC),
    ],
    "objectId": [ObjectId("0" * 24), ObjectId("f" * 24), ObjectId("5f0c1ab2c3d4e5f6a7b8c9d0")],
    "document": [{}, {"a": 1, "b": {"c": [1, "x"], "d": -0.0}}],
    "array": [[], [1, 2.5, "x", None, {"a": Int64(1), "b": [True]}]],  # FerretDB v1 refuses an array in an array
    "binary": [Binary(b""), Binary(b"\x00\xff\x10", 0), Binary(uuid.UUID(int=1).bytes, 4), Binary(b"x", 0x80)],
    "regex": [Regex("^a.*b$", "i"), Regex("x", ""), Regex('q"\\d', "imsx")],
    "timestamp": [Timestamp(0, 0), Timestamp(2**31 - 1, 7), Timestamp(2**32 - 1, 2**32 - 1)],
}  # fmt: skip
RAW = CodecOptions(document_class=RawBSONDocument, tz_aware=True)


class FastDecodeMode(FerretDB):
    """The session's build, started with DEVSTACK_FERRETDB_FASTDECODE set."""

    fastdecode: ClassVar[str]

    def env(self) -> dict[str, str]:
        return {**super().env(), "DEVSTACK_FERRETDB_FASTDECODE": self.fastdecode}


class OriginalDecode(FastDecodeMode):
    fastdecode = "off"


class StrictDecode(FastDecodeMode):
    fastdecode = "strict"


@pytest.fixture(scope="module")
def servers(devstack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A fresh database on each server: fast (the session's), original (fast path off), strict."""
    import pymongo

    outputs = devstack("ferretdb")
    started: list[FastDecodeMode] = []
    uris = {"fast": outputs["mongodb_uri"]}
    try:
        modes: tuple[tuple[str, type[FastDecodeMode]], ...] = (("original", OriginalDecode), ("strict", StrictDecode))
        for name, kind in modes:
            server = start_sibling(devstack, tmp_path_factory, kind, f"ferretdb-{name}")
            started.append(server)
            uris[name] = server.uri
        clients: dict[str, Any] = {name: pymongo.MongoClient(uri) for name, uri in uris.items()}
        database = f"decode-{uuid.uuid4().hex[:8]}"
        yield {name: client[database] for name, client in clients.items()}
        for client in clients.values():
            client.drop_database(database)
            client.close()
    finally:
        for server in started:
            server.stop()


def stored_and_read(servers: dict[str, Any], collection: str, docs: list[dict[str, Any]]) -> dict[str, list[bytes]]:
    """Insert docs (integer _ids) on every server; each server's read of them back as raw BSON, in _id order."""
    ids = {"_id": {"$gte": min(doc["_id"] for doc in docs), "$lte": max(doc["_id"] for doc in docs)}}
    read = {}
    for name, database in servers.items():
        database[collection].insert_many(docs)
        raw = database[collection].with_options(codec_options=RAW)
        read[name] = [doc.raw for doc in raw.find(ids).sort("_id", 1)]
    return read


def as_stored(value: Any) -> Any:
    """What FerretDB v1 keeps of a value: -0.0 becomes 0 on insert (its own decoder reads 0.0 back too)."""
    if isinstance(value, float) and value == 0:
        return 0.0
    if isinstance(value, dict):
        return {key: as_stored(v) for key, v in value.items()}
    if isinstance(value, list):
        return [as_stored(v) for v in value]
    return value


def assert_identical(read: dict[str, list[bytes]], docs: list[dict[str, Any]]) -> None:
    """Every server read the same bytes, and those are the inserted documents' (as FerretDB stores them)."""
    inserted = [bson.encode(as_stored(doc)) for doc in docs]
    for name, raws in read.items():
        assert len(raws) == len(inserted), name
        for raw, original, expected in zip(raws, read["original"], inserted, strict=True):
            assert raw == original, (name, bson.decode(raw), bson.decode(original))
            assert raw == expected, (name, bson.decode(raw), bson.decode(expected))


def test_every_type_reads_back_identically_with_the_fast_path(servers: dict[str, Any]) -> None:
    docs: list[dict[str, Any]] = [
        {"_id": n, "kind": kind, "v": value}
        for n, (kind, value) in enumerate((kind, v) for kind, values in EVERY_TYPE.items() for v in values)
    ]
    mixed = {f"{kind}_{i}": v for kind, values in EVERY_TYPE.items() for i, v in enumerate(values)}
    docs.append({"_id": len(docs), **mixed})  # one document holding every value, in order
    docs.append({"_id": len(docs), "ünï cødé key": 1, "": "empty key", "k/ey": None})
    assert_identical(stored_and_read(servers, "every-type", docs), docs)


def test_a_collection_of_more_schemas_than_the_cache_keeps(servers: dict[str, Any]) -> None:
    """Every document its own schema (its own key): past 4,096 the cache of parsed schemas starts again."""
    docs = [{"_id": i, f"field_{i}": i * 0.5, "same": "x"} for i in range(5_000)]
    assert_identical(stored_and_read(servers, "many-schemas", docs), docs)


def test_what_the_fast_path_declines_gets_ferretdb_s_own_answer(servers: dict[str, Any]) -> None:
    """FerretDB v1 writes a key into its JSON unescaped, so a key with a backslash or a control character is stored
    as JSON it cannot read back (or refused, where SQLite finds it malformed): the fast path declines such a
    document, and the error is FerretDB's own."""
    from pymongo.errors import OperationFailure

    for n, key in enumerate(("back\\b", "tab\tkey", "ctrl\x01")):  # `\b` in JSON is another key, a backspace
        errors = {}
        for name, database in servers.items():
            database[f"declined-{n}"].insert_one({"_id": n, key: 1})
            with pytest.raises(OperationFailure) as failure:
                database[f"declined-{n}"].find_one({})
            errors[name] = str(failure.value)
            database.drop_collection(f"declined-{n}")
        assert errors["fast"] == errors["original"], key
        assert "DEVSTACK_FERRETDB_FASTDECODE=strict) declined" in errors["strict"], key


KEYS = st.text(st.characters(exclude_categories=["Cs", "Cc"], exclude_characters='."\\$'), min_size=1, max_size=8)
SCALARS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(I64), I64 - 1),
    st.integers(-(I32), I32 - 1).map(Int64),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
    st.booleans(),
    st.none(),
    st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31)).map(
        lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC)
    ),
    st.binary(min_size=12, max_size=12).map(ObjectId),
)
FLAT_DOCS = st.lists(st.dictionaries(KEYS.filter(lambda k: k != "_id"), SCALARS, max_size=12), min_size=1, max_size=5)


NEXT_ID = itertools.count()


@settings(max_examples=150, deadline=None)
@given(FLAT_DOCS)
def test_flat_documents_read_back_identically_property(servers: dict[str, Any], bodies: list[dict[str, Any]]) -> None:
    docs = [{"_id": next(NEXT_ID), **body} for body in bodies]
    assert_identical(stored_and_read(servers, "flat", docs), docs)
