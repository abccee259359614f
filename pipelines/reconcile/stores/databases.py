"""The sinks that are databases: MongoDB, Firestore, DynamoDB, each read in one paged pass."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from contract.clients import dynamodb_client, firestore_client, mongo_client
from contract.errors import TargetUnreachable, probe_endpoint
from contract.outputs import StackOutputs
from pipelines.reconcile.stores import StoreError
from schemas import DatasetSchema
from schemas import load as load_schema

PAGE = 10_000
#: DynamoDB Scan segments read at once: one per core, as the read's ceiling in benchmarks/reconcile_stores.py
SCAN_SEGMENTS = max(2, os.cpu_count() or 2)


class MongoStore:
    stage = "mongodb"
    complete = True

    def __init__(self, outputs: StackOutputs, collection: str) -> None:
        self.outputs, self.collection = outputs, collection
        self.where = f"{outputs['mongodb_database']}.{collection}"
        datasets = [d for d, c in (outputs.get("mongodb_collections") or {}).items() if c == collection]
        self.schema = load_schema(datasets[0]) if datasets else None
        self.coverage: dict[str, Any] = {}

    def records(self) -> Iterator[dict[str, Any] | Any]:
        """The server's batches undecoded (find_raw_batches): a batch the compiled pass is sure of becomes an Arrow
        record batch without a Python object per value; any other is decoded into dicts (the pass declines
        whole batches: a field it does not know, another BSON type, see loaders/kernel/src/columns.rs)."""
        from bson import decode_all
        from pymongo.errors import PyMongoError

        client = mongo_client(self.outputs)
        columns = _column_reader(self.schema) if self.schema else None
        try:
            collection = client[self.outputs["mongodb_database"]][self.collection]
            for raw in collection.find_raw_batches({}, {"_id": 0}, batch_size=PAGE):
                batch = columns(raw) if columns else None
                if batch is not None:
                    yield batch
                else:
                    yield from decode_all(raw)
        except PyMongoError as exc:
            raise StoreError(f"mongodb {self.where}: {str(exc).split(', Timeout:')[0]}") from None
        finally:
            client.close()


def _column_reader(schema: DatasetSchema) -> Callable[[bytes], Any] | None:
    """The batch pipeline's compiled pass over a page of BSON documents (kde_convert_kernel.ColumnReader, built
    from loaders/kernel) as a function page -> Arrow record batch or None (not sure: decode it); None when the
    kernel is not installed or does not take the dataset's types. Every column is nullable: reconcile reads a
    missing value as null and reports it, it does not refuse the page."""
    import pyarrow as pa

    try:
        from kde_convert_kernel import ColumnReader
    except ImportError:
        return None
    kinds = {"integer": pa.int64(), "number": pa.float64(), "string": pa.string(), "boolean": pa.bool_()}
    if any(f.json_type not in kinds for f in schema.fields):
        return None
    try:
        reader = ColumnReader([(f.name, f.json_type, True) for f in schema.fields], "_id")
    except ValueError:
        return None
    types = pa.schema([pa.field(f.name, kinds[f.json_type]) for f in schema.fields])

    def read(page: bytes) -> Any:
        found = reader.read(page)
        if found is None:
            return None
        rows, columns = found
        arrays = [
            pa.Array.from_buffers(field.type, rows, [validity and pa.py_buffer(validity), *map(pa.py_buffer, data)],
                                  null_count=nulls)
            for field, (nulls, validity, data) in zip(types, columns, strict=True)
        ]  # fmt: skip
        return pa.RecordBatch.from_arrays(arrays, schema=types)

    return read


class FirestoreStore:
    stage = "firestore"
    complete = True

    def __init__(self, outputs: StackOutputs, collection: str) -> None:
        self.outputs, self.collection = outputs, collection
        self.where = f"{outputs['firestore_database']}/{collection}"
        self.coverage: dict[str, Any] = {}

    def records(self) -> Iterator[dict[str, Any]]:
        from google.api_core import exceptions

        _reachable("firestore", f"firestore {self.where}", (self.outputs.get("endpoints") or {}).get("firestore"))
        client = firestore_client(self.outputs)
        try:
            for snapshot in client.collection(self.collection).stream():
                yield snapshot.to_dict() or {}
        except exceptions.GoogleAPICallError as exc:
            raise StoreError(f"firestore {self.where}: {exc.message}") from None
        finally:
            client.close()


class DynamoStore:
    """The table read by a parallel Scan: `segments` (Segment/TotalSegments) at once, each in a thread of its
    own with its own client, its pages handed over through a short queue, so memory stays at a few pages. Items
    come on the low-level client, as the wire has them: a number of a number field stays its text (canonical()
    reads it as boto3's Decimal of that text), a string is itself, anything else goes through boto3's own
    TypeDeserializer, as the resource's Table would."""

    stage = "dynamodb"
    complete = True

    def __init__(
        self, outputs: StackOutputs, table: str, segments: int = SCAN_SEGMENTS, limit: int | None = None
    ) -> None:
        self.outputs, self.table, self.segments, self.limit = outputs, table, segments, limit
        self.where = f"dynamodb table {table}"
        datasets = [d for d, t in (outputs.get("dynamodb_tables") or {}).items() if t == table]
        fields = load_schema(datasets[0]).fields if datasets else []
        self.numbers = frozenset(f.name for f in fields if f.json_type in ("integer", "number"))
        self.coverage: dict[str, Any] = {}

    def records(self) -> Iterator[dict[str, Any]]:
        _reachable("dynamodb", self.where, (self.outputs.get("endpoints") or {}).get("dynamodb"))
        plain = _plain_item(self.numbers)
        # not the resource's client: the resource makes it deserialize every response (botocore retries throttling)
        clients = [dynamodb_client(self.outputs) for _ in range(self.segments)]
        pages: queue.Queue[list[dict[str, Any]] | BaseException | None] = queue.Queue(maxsize=2 * self.segments)
        stop = threading.Event()
        threads = [
            threading.Thread(target=self._segment, args=(clients[n], n, pages, stop), daemon=True)
            for n in range(self.segments)
        ]
        for thread in threads:
            thread.start()
        try:
            running = self.segments
            while running:
                page = pages.get()
                if page is None:
                    running -= 1
                elif isinstance(page, BaseException):
                    raise page
                else:
                    yield from map(plain, page)
        finally:
            stop.set()
            for thread in threads:
                thread.join()

    def _segment(self, client: Any, number: int, pages: queue.Queue[Any], stop: threading.Event) -> None:
        """One segment's pages into `pages`, then None (or the error that ended it); gives up once `stop` is set."""
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs: dict[str, Any] = {"TableName": self.table, "Segment": number, "TotalSegments": self.segments}
        if self.limit:
            kwargs["Limit"] = self.limit  # tests: many pages per segment; else DynamoDB's own 1 MB pages
        end: BaseException | None = None
        try:
            while not stop.is_set():
                page = client.scan(**kwargs)
                _put(pages, page["Items"], stop)
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (BotoCoreError, ClientError) as exc:
            end = StoreError(f"{self.where}: {exc}")
        _put(pages, end, stop)


def _plain_item(numbers: frozenset[str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    deserialize = TypeDeserializer().deserialize

    def plain(item: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in item.items():
            if "S" in value:
                out[name] = value["S"]
            elif "N" in value and name in numbers:
                out[name] = value["N"]
            else:
                out[name] = deserialize(value)
        return out

    return plain


def _put(pages: queue.Queue[Any], item: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            pages.put(item, timeout=0.5)
            return
        except queue.Full:
            continue


def _reachable(service: str, where: str, endpoint: str | None) -> None:
    """A TCP connect to an emulator's endpoint first: its client library would retry a dead one for minutes
    (Firestore's query stream, boto3's adaptive mode) before saying anything."""
    try:
        probe_endpoint(service, endpoint)
    except TargetUnreachable as exc:
        raise StoreError(f"{where}: {exc}") from None
