"""One reader per place a dataset lives. Each store streams its records from `records()`: dicts typed as that
store types them, or Arrow record batches where the store's bytes become columns without a Python object per
value (MongoDB's raw batches, dlt's parquet). It holds nothing but the batch in hand, and fills `coverage` with
what it read (Kafka offsets, dlt load ids) once the stream ends. A store that cannot be read raises StoreError
naming its endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pipelines.reconcile.digest import Record


class StoreError(RuntimeError):
    """The store could not be read; the message names the store and its endpoint."""


class Store(Protocol):
    #: the stage's name in the report: source, mongodb, firestore, dynamodb, kafka, lake-dlt, lake-gcs, lake-s3-sink
    stage: str
    #: where it is, for messages (a path, database.collection, table, topic, s3://bucket/prefix)
    where: str
    #: False when only part of the dataset is read on purpose (--since): missing keys are then not counted
    complete: bool
    #: what was read, once records() is exhausted (e.g. {"topic": t, "offsets": {p: [first, end)}})
    coverage: dict[str, Any]

    def records(self) -> Iterator[Record]: ...
