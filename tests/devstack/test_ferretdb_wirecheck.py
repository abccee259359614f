"""devstack's FerretDB looks for NaN in each message by a scan of its raw BSON (devstack/go/ferretdb/_patch/
wirecheck.go) instead of decoding every document: a message the scan passes must be one FerretDB's own check
passes, and everything else must get FerretDB's own answer. The same messages go to two servers started from the
session's build, one scanning and one with DEVSTACK_FERRETDB_WIRECHECK=full (FerretDB's check alone). FerretDB v1
refuses a message its wire check fails by closing the connection (no error code reaches the client), so each
server runs at log level warn, and the error it logs for the closed connection must be the same on both."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import bson
import pytest
from bson import Decimal128, MinKey
from bson.raw_bson import RawBSONDocument
from test_ferretdb_decode import EVERY_TYPE, assert_identical, stored_and_read

from devstack.config import DevstackConfig
from devstack.process import free_port
from devstack.services.ferretdb import FerretDB

pytestmark = pytest.mark.devstack

NAN = math.nan
WIRECHECK = "DEVSTACK_FERRETDB_WIRECHECK"


class WireCheckMode(FerretDB):
    """The session's build at log level warn (where FerretDB logs why it closed a connection)."""

    wirecheck: ClassVar[str | None]

    def command(self) -> list[str]:
        command = super().command()
        command[command.index("-log-level") + 1] = "warn"
        return command

    def env(self) -> dict[str, str]:
        return {**super().env(), **({WIRECHECK: self.wirecheck} if self.wirecheck else {})}


class ScannedCheck(WireCheckMode):
    wirecheck = None


class FullCheck(WireCheckMode):
    wirecheck = "full"


@pytest.fixture(scope="module")
def servers(devstack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, WireCheckMode]]:
    """Fresh servers from the session's build: "scan" (the patched check) and "original" (the switch set to full)."""
    devstack("ferretdb")
    install = devstack.service("ferretdb").cfg.install_dir
    started: dict[str, WireCheckMode] = {}
    try:
        modes: tuple[tuple[str, type[WireCheckMode]], ...] = (("scan", ScannedCheck), ("original", FullCheck))
        for name, kind in modes:
            home = Path(tmp_path_factory.mktemp(f"ferretdb-wirecheck-{name}"))
            (home / "install").symlink_to(install)
            server = kind(DevstackConfig(home=home, ports={"ferretdb": free_port()}))
            server.start()
            started[name] = server
        yield started
    finally:
        for running in started.values():
            running.stop()


@pytest.fixture(scope="module")
def databases(servers: dict[str, WireCheckMode]) -> Iterator[dict[str, Any]]:
    import pymongo

    clients: dict[str, Any] = {name: pymongo.MongoClient(s.uri, retryWrites=False) for name, s in servers.items()}
    database = f"wirecheck-{uuid.uuid4().hex[:8]}"
    yield {name: client[database] for name, client in clients.items()}
    for client in clients.values():
        client.drop_database(database)
        client.close()


def stopped_connection_errors(server: WireCheckMode) -> list[str]:
    """The errors FerretDB logged for the connections it closed, in order."""
    errors = []
    for line in server.log_file.read_text().splitlines():
        if "Connection stopped" in line:
            errors.append(line.split("Connection stopped", 1)[1].split("error=", 1)[-1])
    return errors


def refusal(server: WireCheckMode, database: Any, collection: str, doc: Any) -> tuple[str, Any, str]:
    """Insert doc; what the client saw (exception type, error code) and the error the server logged for it."""
    from pymongo.errors import PyMongoError

    logged = len(stopped_connection_errors(server))
    with pytest.raises(PyMongoError) as failure:
        database[collection].insert_one(doc)
    errors = stopped_connection_errors(server)
    return type(failure.value).__name__, getattr(failure.value, "code", None), "\n".join(errors[logged:])


def with_byte(doc: dict[str, Any], marker: bytes, offset: int, value: int) -> RawBSONDocument:
    """doc encoded, with the byte `offset` after `marker` set to value: BSON pymongo would not write by itself
    (pymongo sends a RawBSONDocument's bytes as they are)."""
    raw = bytearray(bson.encode(doc))
    raw[raw.index(marker) + offset] = value
    return RawBSONDocument(bytes(raw))


REFUSED_BY_THE_WIRE_CHECK: dict[str, Any] = {
    "nan at top level": {"_id": 1, "a": 1.5, "x": NAN, "z": "after"},
    "nan in a nested document": {"_id": 2, "a": {"b": {"c": NAN}}},
    "nan in an array": {"_id": 3, "a": [1, 2.5, NAN]},
    "nan in a document in an array": {"_id": 4, "a": [{"b": "x"}, {"c": NAN}]},
    "negative nan": {"_id": 5, "x": -NAN},
    # declined by the scan, refused by FerretDB's own decoding with its own error
    "min key": {"_id": 6, "k": MinKey()},
    "bool byte 2": with_byte({"_id": 7, "flag": True}, b"flag\x00", 5, 2),
    "array index out of order": with_byte({"_id": 8, "a": [1, 2]}, b"\x10" + b"1\x00", 1, ord("2")),
    "unknown type byte": with_byte({"_id": 9, "x": 1}, b"\x10x\x00", 0, 0x42),
    "string length past the document": with_byte({"_id": 10, "s": "abc"}, b"\x02s\x00", 3, 0x40),
}


@pytest.mark.parametrize("case", REFUSED_BY_THE_WIRE_CHECK)
def test_refused_by_both_with_the_same_error(
    servers: dict[str, WireCheckMode], databases: dict[str, Any], case: str
) -> None:
    doc = REFUSED_BY_THE_WIRE_CHECK[case]
    collection = f"refused-{uuid.uuid4().hex[:8]}"
    seen = {name: refusal(server, databases[name], collection, doc) for name, server in servers.items()}
    assert seen["scan"] == seen["original"]
    kind, code, logged = seen["original"]
    assert kind == "AutoReconnect" and code is None, seen  # the connection closed, as FerretDB v1 does
    assert logged, seen
    if "nan" in case:
        assert "NaN is not supported" in logged, seen
    for database in databases.values():
        assert database[collection].count_documents({}) == 0


def test_every_type_is_accepted_and_reads_back_identically(databases: dict[str, Any]) -> None:
    docs: list[dict[str, Any]] = [
        {"_id": n, "kind": kind, "v": value}
        for n, (kind, value) in enumerate((kind, v) for kind, values in EVERY_TYPE.items() for v in values)
    ]
    mixed = {f"{kind}_{i}": v for kind, values in EVERY_TYPE.items() for i, v in enumerate(values)}
    docs.append({"_id": len(docs), **mixed})
    docs.append({"_id": len(docs), "deep": {"a": [{"b": {"c": [1.5, {"d": -0.0}]}}]}})
    docs.append({"_id": len(docs), "big": [float(i) for i in range(2_000)], "s": "x" * 100_000})
    assert_identical(stored_and_read(databases, "every-type", docs), docs)


@pytest.mark.parametrize("value", [Decimal128("1.5"), math.inf, -math.inf], ids=["decimal128", "inf", "-inf"])
def test_a_value_the_wire_accepts_and_ferretdb_refuses_gets_the_same_answer(
    servers: dict[str, WireCheckMode], databases: dict[str, Any], value: Any
) -> None:
    """Decimal128 and infinities pass the wire check (only NaN is its concern), so the scan passes them on; FerretDB
    v1 refuses them after it (an infinity with an error code, Decimal128 by closing the connection)."""
    collection = f"refused-later-{uuid.uuid4().hex[:8]}"
    doc = {"_id": 1, "nested": {"v": value}}
    seen = {name: refusal(server, databases[name], collection, doc) for name, server in servers.items()}
    assert seen["scan"] == seen["original"]
    if isinstance(value, float):
        assert seen["scan"][:2] == ("WriteError", 2), seen
