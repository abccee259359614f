"""Per-row digests in DuckDB: for every record of every stage its key, its key segment and one 64-bit hash per
column of (key, canonical value). Python only encodes; DuckDB hashes a batch at a time and keeps the digests in
a database file on disk under a memory cap, so a store of any size costs one batch of memory."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.reconcile.canonical import NULL, canonical
from pipelines.reconcile.columnar import canonical_columns, canonical_values
from schemas import DatasetSchema

#: key segments: the checksums are compared per segment, and only the rows of differing segments are joined
SEGMENTS = 1024
BATCH = 10_000
#: what a store yields: a record as a dict, or a batch of them as Arrow columns
Record: TypeAlias = dict[str, Any] | pa.RecordBatch
MEMORY_LIMIT = "64MB"  # at 1M rows x 2 stores: 325 MB peak RSS with 64 MB, 381 MB with 128 MB


class Digests:
    def __init__(self, schema: DatasetSchema, folder: Path) -> None:
        import duckdb

        self.schema = schema
        self.columns = [f"h{i}" for i in range(len(schema.fields))]
        self._row = itemgetter(*schema.field_names) if len(schema.fields) > 1 else lambda r: (r[schema.fields[0].name],)
        self.db = duckdb.connect(str(folder / f"{schema.dataset}.duckdb"))
        self.db.execute(f"SET memory_limit = '{MEMORY_LIMIT}'; SET threads = 2; SET preserve_insertion_order = false")
        self.db.execute(f"SET temp_directory = '{folder / 'spill'}'")
        hashes = ", ".join(f"{c} UBIGINT" for c in self.columns)
        self.db.execute(f"CREATE TABLE digests (stage VARCHAR, key VARCHAR, seg USMALLINT, {hashes})")

    def add(self, stage: str, records: Iterable[Record], progress: Callable[[int], None] | None = None) -> int:
        """Digest every record of `stage` (dicts, or Arrow record batches of the store's columns, in any mix);
        returns how many there were. DuckDB hashes a batch in a thread of its own (it lets go of the GIL) while
        the store reads and encodes the next one."""
        pending: list[dict[str, Any]] = []
        total = 0
        with ThreadPoolExecutor(1, thread_name_prefix="digest") as hashing:
            inserting: list[Future[None]] = []

            def flush(columns: list[pa.Array]) -> int:
                if inserting:
                    inserting.pop().result()
                if columns and len(columns[0]):
                    inserting.append(hashing.submit(self._insert, stage, columns))
                return len(columns[0]) if columns else 0

            try:
                for item in records:
                    if isinstance(item, dict):
                        pending.append(item)
                        if len(pending) < BATCH:
                            continue
                        total += flush(self._columns_of(pending))
                        pending = []
                    else:
                        total += flush(canonical_columns(self.schema, item))
                    if progress:
                        progress(total)
                total += flush(self._columns_of(pending))
            finally:
                for insert in inserting:
                    insert.result()
        if progress:
            progress(total)
        return total

    def key_of(self, record: dict[str, Any]) -> str:
        """The record's id as schemas.DatasetSchema.document_id writes it, with numbers canonical (DynamoDB's
        Decimal('5') and Mongo's 5.0 are both `5`); a missing key field reads `null`."""
        parts = (canonical(self.schema.field(k), record.get(k)) for k in self.schema.key)
        return "-".join("null" if p == NULL else p for p in parts)

    def _columns_of(self, records: list[dict[str, Any]]) -> list[pa.Array]:
        fields = self.schema.fields
        try:  # every record has every field (the usual case): transposed in C, no call per value
            columns: list[Any] = list(zip(*map(self._row, records), strict=True)) or [[] for _ in fields]
        except KeyError:
            columns = [[r.get(f.name) for r in records] for f in fields]
        return [canonical_values(f, column) for f, column in zip(fields, columns, strict=True)]

    def _insert(self, stage: str, columns: list[pa.Array]) -> None:
        names = self.schema.field_names
        parts = [pc.if_else(pc.equal(columns[names.index(k)], NULL), "null", columns[names.index(k)])
                 for k in self.schema.key]  # fmt: skip
        key = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "-")
        batch = pa.table({"key": key, **{f"c{i}": column for i, column in enumerate(columns)}})
        hashes = ", ".join(f"hash(key, c{i})" for i in range(len(self.columns)))
        # a cursor of its own: stages are read side by side (pipelines.reconcile.run), and DuckDB's appends from
        # several connections to one table never conflict
        with self.db.cursor() as cursor:
            cursor.register("batch", batch)
            cursor.execute(f"INSERT INTO digests SELECT ?, key, hash(key) % {SEGMENTS}, {hashes} FROM batch", [stage])

    def drop(self, stage: str) -> None:
        """Forget every digest of `stage` (a store that failed part-way)."""
        with self.db.cursor() as cursor:
            cursor.execute("DELETE FROM digests WHERE stage = ?", [stage])

    def close(self) -> None:
        self.db.close()
