"""A dlt source over MongoDB, written here because dlt ships none (its verified source is cloned from GitHub by
`dlt init`, which cannot run offline). It follows that source's design: one resource per collection, the
collection read in pages with a server-side filter on the incremental cursor, BSON types made plain.

What comes from `schemas/` (the single source of truth), per dataset:
- the table's columns and types (so the table exists, typed, before the first row and the contract has
  something to hold on to), its primary key, and its incremental cursor (`x-cursor`, e.g. transactions.id);
- the write disposition: a dataset with a cursor is append-only at the source (new transactions get higher
  ids), so it is read incrementally and *appended*: each run lands only the rows above the last cursor value.
  `merge` would buy nothing here and the filesystem destination cannot merge plain parquet/jsonl files anyway
  (only delta/iceberg tables). A dataset without a cursor (cards, users, codes, labels: small, may be edited
  in place) is *replaced* on every run, so the lake is never a mix of two versions of a row.

For parquet, a page whose documents fit the declared columns goes to dlt as a typed Arrow table, which dlt
writes without its row-by-row normalize (the batch's main cost besides the server's read); any other page
goes as rows, so the contract below treats it exactly as before. (pymongoarrow reads FerretDB's wire protocol
too, but needs pyarrow < 26 and was only ~8% faster than pymongo here: FerretDB's read is the bottleneck.)

The server's read can be parallel: FerretDB decodes each document in Go on one core per query, so a collection
with an integer cursor may be read by several queries (`readers`), each over its own pooled connection and
thread: `{cursor: {$gte: last, $mod: [readers, r]}}`. devstack's FerretDB pushes that range and `$mod` down into
SQLite, so each query decodes only its share (unpatched, each would decode every document: no gain). Each query
still scans every row in SQLite and each reader's pages cost this process CPU too, so it pays only with cores to
spare: the default is one reader per two cores (on a laptop the server runs beside the client). On 2 quiet cores,
100k documents: 2 readers 4.53 s vs 1 reader 5.47 s while FerretDB decoded slowly; since its fast decode and
the compiled pages 3.70 s vs 2.57 s (`benchmarks batch`): both queries scan every row in SQLite, on the cores
the client needs too.
dlt's incremental is order-free (max of the cursor over every row, boundary rows deduplicated by primary key),
so pages of the readers may interleave. A document that no `$mod` reader matches (its cursor missing, not a
number, negative or beyond int64) is read on a first load by one more query, `$nor` of the readers', when the
rows read fall short of the collection's count; an incremental run reads, as before, only numbers at or above
the last value.
As with one reader, a run concurrent with a load may miss a document inserted below a cursor value it read.

Schema contract (`tables: evolve, columns: freeze, data_type: freeze` by default): a field that is not in the
dataset's schema, or a value whose type cannot be coerced to the declared column type, stops the load with a
`DataValidationError` naming the table and column, instead of silently adding a column or a variant column.
`discard_row` / `discard_value` are available to drop such rows or values instead (see `--contract`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import queue
import threading
from collections.abc import Generator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from functools import cache
from itertools import islice
from typing import Any

import dlt
from bson.int64 import Int64
from dlt.extract import DltResource, DltSource

from schemas import DatasetSchema
from schemas import load as load_schema

#: JSON Schema type -> dlt data type
DLT_TYPES: dict[str, str] = {"integer": "bigint", "number": "double", "string": "text", "boolean": "bool"}
#: how many documents go to dlt at once (dlt handles lists of items much faster than single items)
PAGE_SIZE = 5_000

#: rows of Arrow pages given to dlt as one item: dlt computes and validates the table's schema for every item
#: (~17 ms each in py-spy, a tenth of a 100k run's own time at one item per page)
ITEM_ROWS = 25_000

#: parallel queries per collection at most (each keeps one FerretDB core busy, and its pages this process)
MAX_READERS = 4

CONTRACT_MODES = ("freeze", "discard_row", "discard_value", "evolve")
_PLAIN = (str, int, float, bool, type(None), dt.datetime, dt.date, decimal.Decimal)


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


def plain(value: Any) -> Any:
    """A BSON value as a plain Python value dlt understands (Decimal128 -> Decimal, ObjectId -> str, ...)."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    to_decimal = getattr(value, "to_decimal", None)  # bson.Decimal128
    if callable(to_decimal):
        return to_decimal()
    return str(value)  # ObjectId, Binary, Timestamp, ...


#: JSON Schema type -> the Python types a page's column may hold to go to dlt as Arrow as it is (bool is not
#: an int here: dlt decides about True in a bigint column, as it does for rows; bson's Int64 is BSON's int64)
_ARROW_FIT: dict[str, tuple[type, ...]] = {
    "integer": (int, Int64, type(None)),
    "number": (int, Int64, float, type(None)),
    "string": (str, type(None)),
    "boolean": (bool, type(None)),
}
_ARROW_TYPES = {"integer": "int64", "number": "float64", "string": "string", "boolean": "bool_"}


def arrow_schema(schema: DatasetSchema) -> Any:
    """The dataset's columns as Arrow types, nullable as dlt declares them (table_columns), so that dlt takes
    an Arrow page's schema as it is."""
    import pyarrow as pa

    return pa.schema(
        pa.field(f.name, getattr(pa, _ARROW_TYPES[f.json_type])(), nullable=f.nullable or not f.required)
        for f in schema.fields
    )


def arrow_page(page: list[dict[str, Any]], schema: DatasetSchema) -> Any:
    """The page as a typed Arrow table, which dlt writes to parquet without normalizing row by row; None when
    a document does not fit the declared columns (a field the schema does not know, a value of another type, a
    null where one is required, an integer a double cannot hold exactly): such a page goes to dlt as rows, so
    its contract decides as it always did."""
    import pyarrow as pa

    known = set(schema.field_names)
    if not all(known.issuperset(doc) for doc in page):
        return None
    columns: dict[str, list[Any]] = {}
    for f in schema.fields:
        values = [doc.get(f.name) for doc in page]
        kinds = set(map(type, values))
        nullable = f.nullable or not f.required
        if not kinds.issubset(_ARROW_FIT[f.json_type]) or (type(None) in kinds and not nullable):
            return None
        columns[f.name] = values
    try:
        return pa.Table.from_pydict(columns, schema=arrow_schema(schema))
    except pa.ArrowInvalid:  # e.g. 2**53 + 1 in a double column: dlt's normalize decides about it
        return None


@cache
def _column_reader(dataset: str) -> Any:
    """The compiled pass of a dataset's pages (loaders/kernel/src/columns.rs), or None: no kernel built."""
    try:
        from kde_convert_kernel import ColumnReader
    except ImportError:
        return None
    schema = load_schema(dataset)
    columns = [(f.name, f.json_type, f.nullable or not f.required) for f in schema.fields]
    try:
        return ColumnReader(columns, "_id")
    except ValueError:  # a type or a number of columns the kernel does not take
        return None


def raw_arrow_page(raw: bytes, schema: DatasetSchema) -> Any:
    """A page of BSON documents as the server sent it, straight to the table `arrow_page` makes of its decoded
    documents, by the compiled pass (no Python object per document or value, without the GIL); None when it is
    not sure (see loaders/kernel/src/columns.rs): then the documents are decoded and take the Python path.
    Decoding to dicts and building Arrow from them cost ~0.6 s of this process's CPU per 100k transactions."""
    import pyarrow as pa

    reader = _column_reader(schema.dataset)
    read = None if reader is None else reader.read(raw)
    if read is None:
        return None
    rows, columns = read
    types = arrow_schema(schema)
    arrays = [
        pa.Array.from_buffers(field.type, rows, [validity and pa.py_buffer(validity), *map(pa.py_buffer, buffers)],
                              null_count=nulls)
        for field, (nulls, validity, buffers) in zip(types, columns, strict=True)
    ]  # fmt: skip
    return pa.Table.from_arrays(arrays, schema=types)


class MixedPages(RuntimeError):
    """A page of a parallel read does not fit the declared columns (it must go to dlt as rows) while others go as
    Arrow tables. dlt's incremental keeps one state per item type, and the run's last value and boundary hashes
    are those of the type it saw last: right only when pages come in cursor order, as from one reader. The
    caller reads the collection again with one reader (run.run_dataset); it is rare: bad data."""


def _arrow_pages(
    pages: Generator[Any, None, None], schema: DatasetSchema, parallel: bool
) -> Generator[Any, None, None]:
    """Pages as Arrow tables where they fit (the readers made most of them tables already), else as rows; tables
    in a row go to dlt together, ITEM_ROWS at a time."""
    import pyarrow as pa

    held: list[Any] = []
    with closing(pages):  # stops the readers now, not when the garbage collector gets to them
        for page in pages:
            table = page if not isinstance(page, list) else arrow_page(page, schema)
            if table is None and parallel:
                raise MixedPages(f"{schema.dataset}: a page of a parallel read does not fit Arrow")
            if table is not None:
                held.append(table)
            if held and (table is None or sum(map(len, held)) >= ITEM_ROWS):
                yield pa.concat_tables(held)  # chunks side by side, not copied
                held = []
            if table is None:
                yield page
        if held:
            yield pa.concat_tables(held)


def default_readers() -> int:
    """One reader per two cores, at most MAX_READERS (the module's docstring has the figures): a reader pays
    only while the server, not this process, is what the read waits for."""
    return max(1, min((os.cpu_count() or 1) // 2, MAX_READERS))


def cursor_queries(cursor_field: str, last_value: Any, readers: int) -> list[dict[str, Any]]:
    """The documents at or above `last_value` (all when None) as `readers` disjoint queries on `cursor % readers`;
    one query when `readers` is 1 or the last value is not a non-negative integer (where `$mod` would split
    what `$gte` selects unevenly or not at all)."""
    lower = {} if last_value is None else {"$gte": last_value}
    splittable = last_value is None or (type(last_value) is int and last_value >= 0)
    if readers <= 1 or not splittable:
        return [{cursor_field: lower} if lower else {}]
    return [{cursor_field: {**lower, "$mod": [readers, r]}} for r in range(readers)]


def stored_count(collection: Any) -> int:
    """The collection's document count from its storage statistics (`$collStats`, 0.1 s at 100k documents):
    FerretDB answers pymongo's `estimated_document_count` (the `count` command) by decoding every document."""
    from pymongo.errors import OperationFailure

    try:
        stats = list(collection.aggregate([{"$collStats": {"count": {}}}]))
    except OperationFailure as error:
        if error.code == NAMESPACE_NOT_FOUND:
            return 0
        raise
    return sum(int(shard.get("count", 0)) for shard in stats)


NAMESPACE_NOT_FOUND = 26
_DONE = object()


def document_pages(
    collection: Any, queries: Sequence[dict[str, Any]], page_size: int, schema: DatasetSchema | None = None
) -> Generator[Any, None, None]:
    """The documents of every query in pages, as they come: each query read by its own thread (over its own
    connection of the client's pool), each reader at most a page ahead of what was taken, so memory stays at
    about two pages per reader. The server's read is the batch's main cost: reading ahead keeps it busy while
    this thread converts and writes, instead of letting it wait for the next `getMore`. A server error in a
    reader reaches the caller; closing the generator stops every reader and closes its cursor. With `schema`,
    each page the compiled pass is sure of comes as its Arrow table (`raw_arrow_page`, made in the reader)."""
    pages: queue.Queue[Any] = queue.Queue(maxsize=len(queries))
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=len(queries), thread_name_prefix="mongodb-read") as readers:
        for query in queries:
            readers.submit(_read_pages, collection, query, page_size, pages, stop, schema)
        try:
            running = len(queries)
            while running:
                item = pages.get()
                if item is _DONE:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            stop.set()


def _read_pages(
    collection: Any,
    query: dict[str, Any],
    page_size: int,
    pages: queue.Queue[Any],
    stop: threading.Event,
    schema: DatasetSchema | None,
) -> None:
    try:
        with closing(_pages_of(collection, query, page_size, schema)) as reading:  # the cursor closed on a stop
            for page in reading:
                if stop.is_set():
                    break
                _offer(pages, page, stop)
    except Exception as error:  # the caller re-raises it
        _offer(pages, error, stop)
    _offer(pages, _DONE, stop)


def _offer(pages: queue.Queue[Any], item: Any, stop: threading.Event) -> None:
    """Put `item` once there is room, unless the caller stopped reading."""
    while not stop.is_set():
        try:
            pages.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def _pages_of(
    collection: Any, query: dict[str, Any], page_size: int, schema: DatasetSchema | None
) -> Generator[Any, None, None]:
    """The query's documents in pages. With `schema`: the server's batches as they come, undecoded, each an
    Arrow table when the compiled pass is sure of it, else its documents decoded as the cursor would (the
    collection's codec options)."""
    if schema is None:
        with collection.find(query, batch_size=page_size) as cursor:
            documents = iter(cursor)
            while page := _page(documents, page_size):
                yield page
        return
    import bson

    with collection.find_raw_batches(query, batch_size=page_size) as cursor:
        for raw in cursor:
            if not raw:
                continue
            table = raw_arrow_page(raw, schema)
            if table is None:
                documents = bson.decode_all(raw, collection.codec_options)
                yield _page(iter(documents), len(documents))
            else:
                yield table


def _page(documents: Iterator[dict[str, Any]], page_size: int) -> list[dict[str, Any]]:
    """Up to `page_size` documents as plain values, without `_id`: the loaders' copy of the dataset key
    (schemas.DatasetSchema.document_id), not a column of the lake."""
    page = []
    for doc in islice(documents, page_size):
        doc.pop("_id", None)
        page.append(doc if all(isinstance(v, _PLAIN) for v in doc.values()) else plain(doc))
    return page


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
        return closing(_arrow_pages(documents, schema, parallel) if arrow else documents)

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
