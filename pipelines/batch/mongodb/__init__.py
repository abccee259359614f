"""A dlt source over MongoDB, written here because dlt ships none (its verified source is cloned from GitHub by
`dlt init`, which cannot run offline). It follows that source's design: one resource per collection, the
collection read in pages with a server-side filter on the incremental cursor, BSON types made plain.
The source and its resources are here; the page reading is in `helpers`, the Arrow pages in `arrow`.

What comes from `schemas/` (the single source of truth), per dataset:
- the table's columns and types (so the table exists, typed, before the first row and the contract has
  something to hold on to), its primary key, and its incremental cursor (`x-cursor`, e.g. transactions.id);
- the write disposition: a dataset with a cursor is append-only at the source (new transactions get higher
  ids), so it is read incrementally and *appended*: each run lands only the rows above the last cursor value.
  `merge` would buy nothing here and the filesystem destination cannot merge plain parquet/jsonl files anyway
  (only delta/iceberg tables). A dataset without a cursor (cards, users, codes, labels: small, may be edited
  in place) is *replaced* on every run, so the lake is never a mix of two versions of a row.

Schema contract (`tables: evolve, columns: freeze, data_type: freeze` by default): a field that is not in the
dataset's schema, or a value whose type cannot be coerced to the declared column type, stops the load with a
`DataValidationError` naming the table and column, instead of silently adding a column or a variant column.
`discard_row` / `discard_value` are available to drop such rows or values instead (see `--contract`).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import closing
from typing import Any

import dlt
from dlt.extract import DltResource, DltSource

from pipelines.batch.mongodb.arrow import MixedPages, arrow_pages
from pipelines.batch.mongodb.helpers import cursor_queries, document_pages, stored_count
from schemas import DatasetSchema
from schemas import load as load_schema

__all__ = ["CONTRACT_MODES", "MAX_READERS", "MixedPages", "mongodb_source", "write_disposition"]

#: JSON Schema type -> dlt data type
DLT_TYPES: dict[str, str] = {"integer": "bigint", "number": "double", "string": "text", "boolean": "bool"}
#: how many documents go to dlt at once (dlt handles lists of items much faster than single items)
PAGE_SIZE = 5_000

#: parallel queries per collection at most (each keeps one FerretDB core busy, and its pages this process)
MAX_READERS = 4

CONTRACT_MODES = ("freeze", "discard_row", "discard_value", "evolve")


def schema_contract(mode: str = "freeze") -> dict[str, str]:
    """The contract for new columns and type changes; new *tables* may always appear (dlt's own, new datasets)."""
    if mode not in CONTRACT_MODES:
        raise ValueError(f"schema contract {mode!r}: expected one of {', '.join(CONTRACT_MODES)}")
    # discard_value is meaningless for a type change dlt cannot coerce: such a row is discarded instead
    data_type = "discard_row" if mode == "discard_value" else mode
    return {"tables": "evolve", "columns": mode, "data_type": data_type}


def table_columns(schema: DatasetSchema) -> dict[str, dict[str, Any]]:
    """dlt column hints for a dataset, from its JSON schema."""
    return {
        f.name: {"name": f.name, "data_type": DLT_TYPES[f.json_type], "nullable": f.nullable or not f.required}
        for f in schema.fields
    }


def write_disposition(schema: DatasetSchema) -> str:
    return "append" if schema.cursor else "replace"


def default_readers() -> int:
    """One reader per two cores, at most MAX_READERS (helpers' docstring says why): a reader pays
    only while the server, not this process, is what the read waits for."""
    return max(1, min((os.cpu_count() or 1) // 2, MAX_READERS))


def collection_resource(
    client: Any,
    database: str,
    collection: str,
    schema: DatasetSchema,
    contract: Mapping[str, str],
    page_size: int = PAGE_SIZE,
    arrow: bool = False,
    readers: int = 1,
) -> DltResource:
    """One dlt resource reading one MongoDB collection into the table named after the dataset; `arrow`: pages
    that fit the declared columns go to dlt as Arrow tables (for parquet: no row-by-row normalize); `readers`:
    parallel queries for a collection with an integer cursor."""
    coll = client[database][collection]

    def pages(queries: Sequence[dict[str, Any]], parallel: bool = False) -> closing[Generator[Any, None, None]]:
        """The pages of `queries`, to read in a `with` block: leaving it stops the readers whatever happened (an
        exception's traceback would keep a suspended generator, and its reading threads, alive)."""
        documents = document_pages(coll, queries, page_size, schema if arrow else None)
        return closing(arrow_pages(documents, schema, parallel) if arrow else documents)

    hints: dict[str, Any] = {
        "name": schema.dataset,
        "primary_key": list(schema.key),
        "columns": table_columns(schema),
        "write_disposition": write_disposition(schema),
        "schema_contract": dict(contract),
    }
    if schema.cursor:
        cursor_field = schema.cursor
        split = readers if schema.field(cursor_field).json_type == "integer" else 1

        def read_new(
            cursor: dlt.sources.incremental[Any] = dlt.sources.incremental(cursor_field),  # noqa: B008
        ) -> Iterator[Any]:
            # filter on the server: only documents at or above the last loaded cursor value are read at all;
            # dlt drops the ones it already loaded (same cursor value and primary key) from the boundary
            queries = cursor_queries(cursor_field, cursor.last_value, split)
            present = stored_count(coll) if cursor.last_value is None and len(queries) > 1 else 0
            read = 0
            parallel = len(queries) > 1
            with pages(queries, parallel) as reading:
                for page in reading:
                    read += len(page)
                    yield page
            if read < present:
                with pages([{"$nor": queries}], parallel) as reading:
                    yield from reading

        return dlt.resource(read_new, **hints)

    def read_all() -> Iterator[Any]:
        with pages([{}]) as reading:
            yield from reading

    return dlt.resource(read_all, **hints)


def mongodb_source(
    client: Any,
    database: str,
    collections: Mapping[str, str],
    datasets: Sequence[str],
    *,
    name: str = "mongodb",
    contract: str = "freeze",
    page_size: int = PAGE_SIZE,
    arrow: bool = False,
    readers: int | None = None,
) -> DltSource:
    """A dlt source with one resource per dataset, reading `collections[dataset]` of `database`; `readers`
    parallel queries per collection with an integer cursor (default: one per two cores, at most MAX_READERS).

    `client` is a `pymongo.MongoClient`; the caller owns it (and closes it after the pipeline ran).
    """
    missing = [d for d in datasets if d not in collections]
    if missing:
        raise ValueError(f"no MongoDB collection for dataset(s) {', '.join(missing)} in the stack outputs")
    contract_dict = schema_contract(contract)
    split = default_readers() if readers is None else readers
    resources = [
        collection_resource(client, database, collections[d], load_schema(d), contract_dict, page_size, arrow, split)
        for d in datasets
    ]
    return DltSource(declared_schema(name, datasets), "mongodb", resources)


def declared_schema(name: str, datasets: Sequence[str]) -> dlt.Schema:
    """A dlt schema that already holds every dataset's table with its typed columns.

    dlt applies `columns`/`data_type` contracts only to tables it has seen before: on the very first run a
    table is "new" and would absorb an unknown field silently. Declaring the tables up front (from
    `schemas/`) makes the contract hold from the first row on.
    """
    from dlt.common.schema.utils import new_table

    schema = dlt.Schema(name)
    for dataset in datasets:
        ds = load_schema(dataset)
        schema.update_table(
            new_table(
                ds.dataset,
                write_disposition=write_disposition(ds),  # type: ignore[arg-type]
                columns=[
                    {**col, "primary_key": col["name"] in ds.key}  # type: ignore[typeddict-item]
                    for col in table_columns(ds).values()
                ],
            )
        )
    return schema
