"""How a collection's documents are read: in pages, by one query or by several in parallel.

The server's read can be parallel: FerretDB decodes each document in Go on one core per query, so a collection
with an integer cursor may be read by several queries (`readers`), each over its own pooled connection and
thread: `{cursor: {$gte: last, $mod: [readers, r]}}`. devstack's FerretDB pushes that range and `$mod` down into
SQLite, so each query decodes only its share (unpatched, each would decode every document: no gain). Each query
still scans every row in SQLite and each reader's pages cost this process CPU too, so it pays only with cores to
spare: the default is one reader per two cores (on a laptop the server runs beside the client; `python -m
benchmarks batch` measures it).
dlt's incremental is order-free (max of the cursor over every row, boundary rows deduplicated by primary key),
so pages of the readers may interleave. A document that no `$mod` reader matches (its cursor missing, not a
number, negative or beyond int64) is read on a first load by one more query, `$nor` of the readers', when the
rows read fall short of the collection's count; an incremental run reads, as before, only numbers at or above
the last value.
As with one reader, a run concurrent with a load may miss a document inserted below a cursor value it read.
"""

from __future__ import annotations

import datetime as dt
import decimal
import queue
import threading
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from itertools import islice
from typing import Any

from pipelines.batch.mongodb.arrow import raw_arrow_page
from schemas import DatasetSchema

_PLAIN = (str, int, float, bool, type(None), dt.datetime, dt.date, decimal.Decimal)


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
