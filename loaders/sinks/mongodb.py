"""MongoDB: bulk upserts (ReplaceOne on `_id` = the record's id from schemas/), unordered, so one bad record
never stops the batch; database and collection from the outputs (`mongodb_database`, `mongodb_collections`)."""

from __future__ import annotations

from functools import partial
from typing import Any

from loaders.sinks.base import BatchResult, Record, with_retries
from schemas import load as load_schema

# FerretDB v1.24 (devstack's MongoDB) hangs on an update command of 100 or more replacements of existing
# documents; MongoDB itself takes 100k. Small commands cost little against either.
OPS_PER_COMMAND = 50


class MongoSink:
    target = "mongodb"

    def __init__(self, dataset: str, outputs: dict[str, Any]) -> None:
        import pymongo

        self.schema = load_schema(dataset)
        name = outputs["mongodb_collections"][dataset]
        self.client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            outputs["mongodb_uri"], serverSelectionTimeoutMS=10_000
        )
        self.collection = self.client[outputs["mongodb_database"]][name]
        self.where = f"{outputs['mongodb_database']}.{name}"

    def write(self, records: list[Record]) -> BatchResult:
        from pymongo import ReplaceOne
        from pymongo.errors import AutoReconnect, BulkWriteError

        result = BatchResult()
        for start in range(0, len(records), OPS_PER_COMMAND):
            chunk = records[start : start + OPS_PER_COMMAND]
            ops = [ReplaceOne({"_id": self.schema.document_id(r)}, {"_id": self.schema.document_id(r), **r},
                              upsert=True) for r in chunk]  # fmt: skip
            try:
                with_retries(partial(self.collection.bulk_write, ops, ordered=False), (AutoReconnect,))
                result.written += len(chunk)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                failed = [(chunk[e["index"]], f"mongodb: {e.get('errmsg', 'write error')}") for e in errors]
                result.written += len(chunk) - len(failed)
                result.failed += failed
        return result

    def finish(self) -> BatchResult:
        return BatchResult()

    def count(self) -> int | None:
        return self.collection.count_documents({})

    def close(self) -> None:
        self.client.close()
