"""For parquet, a page whose documents fit the declared columns goes to dlt as a typed Arrow table, which dlt
writes without its row-by-row normalize (the batch's main cost besides the server's read); any other page
goes as rows, so the schema contract treats it exactly as before. (pymongoarrow reads FerretDB's wire protocol
too, but needs pyarrow < 26 and was only ~8% faster than pymongo here: FerretDB's read is the bottleneck.)
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import closing
from functools import cache
from typing import Any

from bson.int64 import Int64

from schemas import DatasetSchema
from schemas import load as load_schema

#: rows of Arrow pages given to dlt as one item: dlt computes and validates the table's schema for every item
#: (a noticeable share of a run's own time in py-spy at one item per page)
ITEM_ROWS = 25_000


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
    try:  # the compiled passes are an installed package (built from loaders/kernel), a library like pyarrow
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
    not sure (see loaders/kernel/src/columns.rs): then the documents are decoded and take the Python path, which
    costs this process far more CPU (dicts, then Arrow built from them)."""
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


def arrow_pages(pages: Generator[Any, None, None], schema: DatasetSchema, parallel: bool) -> Generator[Any, None, None]:
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
