"""MongoDB: each batch is inserted unordered (`_id` = the record's id from schemas/), and the records whose
`_id` exists already are then replaced, so a re-run converges on the source and one bad record never stops the
batch. Insert first because a first load is mostly new documents, and inserting them is far cheaper than
upserting: 20k new documents into FerretDB (devstack's MongoDB) take 1.5 s as inserts, 7.9 s as upserts of
50 per command. Database and collection come from the outputs (`mongodb_database`, `mongodb_collections`)."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

from contract.clients import mongo_client
from contract.outputs import StackOutputs
from loaders.sinks.base import BatchResult, Record, lanes_for, output_name, unreachable, with_retries
from schemas import load as load_schema

# FerretDB v1.24 (devstack's MongoDB) hangs on an update command of 100 or more updates: it keeps every
# update's cursor open until the command ends. MongoDB itself takes 100k. Small commands cost little.
OPS_PER_COMMAND = 50
DUPLICATE_KEY = 11000
# The load loop writes `lanes_for` the server's batches at once (pymongo's client is thread-safe and pools its
# connections). FerretDB v1.24 on SQLite deadlocks when two connections replace documents of one collection at
# once: a re-load of existing documents hung for good in 4 lanes (and left the server refusing writes). Inserts
# run in every lane; the replacements of existing documents take turns (`_replacing`).


def _reason(error: dict[str, Any]) -> str:
    return f"mongodb: {error.get('errmsg', 'write error')}"


def _record(doc: dict[str, Any]) -> Record:
    """The record a document was made of (`MongoSink.document`): a failure names that."""
    return {k: v for k, v in doc.items() if k != "_id"}


def _short(exc: Exception) -> str:
    """pymongo's message without its topology description (a paragraph of internals)."""
    return str(exc).split(", Timeout:")[0].split(" (configured timeouts")[0]


def server_address(uri: str) -> str:
    """host:port[,host:port] of a MongoDB URI, without its credentials (for messages)."""
    nodes = _nodes(uri)
    if not nodes:  # an SRV or malformed URI: say where without the secret part
        return uri.rsplit("@", 1)[-1].split("/", 1)[0] or "?"
    return ",".join(f"{host}:{port}" for host, port in nodes)


def _nodes(uri: str) -> list[tuple[str, int]]:
    """The (host, port) pairs a URI names; none for an SRV record (hosts looked up in DNS) or a malformed URI."""
    from pymongo.uri_parser import parse_uri

    try:
        return list(parse_uri(uri, connect_timeout=1)["nodelist"])
    except Exception:
        return []


class MongoSink:
    target = "mongodb"
    id_field = "_id"

    def __init__(self, dataset: str, outputs: StackOutputs) -> None:
        import pymongo
        from pymongo.errors import ConnectionFailure

        self.schema = load_schema(dataset)
        self.lanes = lanes_for([host for host, _ in _nodes(outputs["mongodb_uri"])])
        self._replacing = threading.Lock()

        name = output_name(outputs, "mongodb_collections", dataset)
        self.address = server_address(outputs["mongodb_uri"])
        self.client: pymongo.MongoClient[dict[str, Any]] = mongo_client(outputs)
        self.collection = self.client[outputs["mongodb_database"]][name]
        self.where = f"{outputs['mongodb_database']}.{name}"
        try:  # the client connects lazily: ask now, so a server that is down is one line within its timeout
            self.client.admin.command("ping")
        except ConnectionFailure as exc:
            self.client.close()
            raise unreachable("mongodb", self.address, _short(exc)) from None

    def document(self, record: Record) -> Record:
        return {"_id": self.schema.document_id(record), **record}

    def from_bson(self, docs: list[bytes]) -> list[Record]:
        from bson.raw_bson import RawBSONDocument

        return [RawBSONDocument(doc) for doc in docs]  # type: ignore[misc]

    def write(self, records: list[Record]) -> BatchResult:
        return self.write_documents([self.document(r) for r in records])

    def write_documents(self, docs: list[Record]) -> BatchResult:
        from pymongo.errors import ConnectionFailure

        try:
            return self._write(docs)
        except ConnectionFailure as exc:  # AutoReconnect past its retries, server selection timed out
            raise unreachable("mongodb", self.address, _short(exc)) from None

    def _write(self, docs: list[Record]) -> BatchResult:
        from pymongo.errors import AutoReconnect, BulkWriteError, ServerSelectionTimeoutError

        result = BatchResult()
        try:
            with_retries(
                partial(self.collection.insert_many, docs, ordered=False),
                (AutoReconnect,),
                final=(ServerSelectionTimeoutError,),
            )
            result.written += len(docs)
            return result
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
        existing = [e["index"] for e in errors if e.get("code") == DUPLICATE_KEY]
        result.failed += [(_record(docs[e["index"]]), _reason(e)) for e in errors if e.get("code") != DUPLICATE_KEY]
        result.written += len(docs) - len(errors)
        with self._replacing:
            self._replace([docs[i] for i in existing], result)
        return result

    def _replace(self, docs: list[dict[str, Any]], result: BatchResult) -> None:
        from pymongo import ReplaceOne
        from pymongo.errors import AutoReconnect, BulkWriteError, ServerSelectionTimeoutError

        for start in range(0, len(docs), OPS_PER_COMMAND):
            chunk = docs[start : start + OPS_PER_COMMAND]
            ops = [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in chunk]
            try:
                with_retries(
                    partial(self.collection.bulk_write, ops, ordered=False),
                    (AutoReconnect,),
                    final=(ServerSelectionTimeoutError,),
                )
                result.written += len(chunk)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                result.failed += [(_record(chunk[e["index"]]), _reason(e)) for e in errors]
                result.written += len(chunk) - len(errors)

    def finish(self) -> BatchResult:
        return BatchResult()

    def count(self) -> int | None:
        return self.collection.count_documents({})

    def close(self) -> None:
        self.client.close()
