"""Per-row digests in DuckDB: for every record of every stage its key, its key segment and one 64-bit hash per
column of (key, canonical value). Python only encodes; DuckDB hashes a batch at a time and keeps the digests in
a database file on disk under a memory cap, so a store of any size costs one batch of memory."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pipelines.reconcile.canonical import NULL, canonical, canonical_row
from schemas import DatasetSchema

#: key segments: the checksums are compared per segment, and only the rows of differing segments are joined
SEGMENTS = 1024
BATCH = 10_000
MEMORY_LIMIT = "64MB"  # at 1M rows x 2 stores: 325 MB peak RSS with 64 MB, 381 MB with 128 MB


class Digests:
    def __init__(self, schema: DatasetSchema, folder: Path) -> None:
        import duckdb

        self.schema = schema
        self.columns = [f"h{i}" for i in range(len(schema.fields))]
        self.db = duckdb.connect(str(folder / f"{schema.dataset}.duckdb"))
        self.db.execute(f"SET memory_limit = '{MEMORY_LIMIT}'; SET threads = 2; SET preserve_insertion_order = false")
        self.db.execute(f"SET temp_directory = '{folder / 'spill'}'")
        hashes = ", ".join(f"{c} UBIGINT" for c in self.columns)
        self.db.execute(f"CREATE TABLE digests (stage VARCHAR, key VARCHAR, seg USMALLINT, {hashes})")

    def add(self, stage: str, records: Iterable[dict[str, Any]], progress: Callable[[int], None] | None = None) -> int:
        """Digest every record of `stage`; returns how many there were."""
        keys: list[str] = []
        values: list[list[str]] = [[] for _ in self.columns]
        total = 0
        for record in records:
            keys.append(self.key_of(record))
            for column, value in zip(values, canonical_row(self.schema, record), strict=True):
                column.append(value)
            if len(keys) >= BATCH:
                total += self._flush(stage, keys, values)
                if progress:
                    progress(total)
        total += self._flush(stage, keys, values)
        if progress:
            progress(total)
        return total

    def key_of(self, record: dict[str, Any]) -> str:
        """The record's id as schemas.DatasetSchema.document_id writes it, with numbers canonical (DynamoDB's
        Decimal('5') and Mongo's 5.0 are both `5`); a missing key field reads `null`."""
        parts = (canonical(self.schema.field(k), record.get(k)) for k in self.schema.key)
        return "-".join("null" if p == NULL else p for p in parts)

    def _flush(self, stage: str, keys: list[str], values: list[list[str]]) -> int:
        import pyarrow as pa

        count = len(keys)
        if not count:
            return 0
        batch = pa.table({"key": keys, **{f"c{i}": column for i, column in enumerate(values)}})
        self.db.register("batch", batch)
        hashes = ", ".join(f"hash(key, c{i})" for i in range(len(self.columns)))
        self.db.execute(f"INSERT INTO digests SELECT ?, key, hash(key) % {SEGMENTS}, {hashes} FROM batch", [stage])
        self.db.unregister("batch")
        keys.clear()
        for column in values:
            column.clear()
        return count

    def close(self) -> None:
        self.db.close()
