"""The lake: dlt's batch table of a dataset in the S3 lake and in the GCS lake (every load's files, or those from
`--since LOAD_ID` on; a load id is a Unix time, so in the GCS lake, whose pipeline has load ids of its own, it
means the loads from then on) and the S3 sink's objects of a streamed topic. A dlt file is spooled to a temporary
file and read a row group at a time, so memory stays at one batch whatever the file's size."""

from __future__ import annotations

import gzip
import io
import json
import tempfile
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from contract.lake_layout import (
    DATASET_NAME,
    DLT_COLUMNS,
    GcsTarget,
    S3Target,
    dlt_load_id_of,
    dlt_load_order,
    gcs_landing_target,
    landing_target,
)
from contract.lake_readers import gcs_table_blobs, sink_prefix, stream_sink_records, table_keys
from contract.outputs import StackOutputs
from pipelines.reconcile.digest import Record
from pipelines.reconcile.stores import StoreError

BATCH_ROWS = 10_000


class _DltTableStore:
    """One dlt table in a lake; a subclass lists the table's files and downloads one."""

    stage: str
    where: str

    def __init__(self, table: str, since_load_id: str | None) -> None:
        self.dataset_name, self.table, self.since = DATASET_NAME, table, since_load_id
        self.complete = since_load_id is None
        self.coverage: dict[str, Any] = {}

    def _keys(self) -> list[str]:
        raise NotImplementedError

    def _download(self, key: str, spool: Any) -> None:
        raise NotImplementedError

    def _errors(self) -> tuple[type[Exception], ...]:
        """The client's exceptions that mean the lake cannot be read."""
        raise NotImplementedError

    def records(self) -> Iterator[Record]:
        load_ids: set[str] = set()
        try:
            for key in self._keys():
                load_id = dlt_load_id_of(key)
                if self.since is not None and dlt_load_order(load_id) < dlt_load_order(self.since):
                    continue
                load_ids.add(load_id)
                for row in self._rows(key):
                    yield row if not isinstance(row, dict) else {k: v for k, v in row.items() if k not in DLT_COLUMNS}
        except self._errors() as exc:
            raise StoreError(f"lake {self.where}: {exc}") from None
        self.coverage = {"load_ids": sorted(load_ids)}

    def _rows(self, key: str) -> Iterator[Record]:
        """A parquet file's rows as Arrow record batches (without dlt's columns), a jsonl file's as dicts."""
        with tempfile.TemporaryFile() as spool:
            self._download(key, spool)
            spool.seek(0)
            if key.endswith(".parquet"):
                import pyarrow.parquet as pq

                for batch in pq.ParquetFile(spool).iter_batches(batch_size=BATCH_ROWS):
                    yield batch.select([n for n in batch.schema.names if n not in DLT_COLUMNS])
                return
            yield from _json_lines(spool)


class DltLakeStore(_DltTableStore):
    """The batch's table in the S3 lake."""

    stage = "lake-dlt"

    def __init__(
        self,
        outputs: StackOutputs,
        s3: Any,
        table: str,
        since_load_id: str | None = None,
        target: S3Target | None = None,
    ) -> None:
        super().__init__(table, since_load_id)
        self.s3, self.target = s3, target or landing_target(outputs)
        self.where = f"s3://{self.target.bucket}/{self.target.table_prefix(self.dataset_name, table)}"

    def _keys(self) -> list[str]:
        return table_keys(self.s3, self.target, self.dataset_name, self.table)

    def _download(self, key: str, spool: Any) -> None:
        self.s3.download_fileobj(self.target.bucket, key, spool)

    def _errors(self) -> tuple[type[Exception], ...]:
        from botocore.exceptions import BotoCoreError, ClientError

        return BotoCoreError, ClientError


class GcsLakeStore(_DltTableStore):
    """The batch's table in the GCS lake (its own dlt pipeline, so its own load ids)."""

    stage = "lake-gcs"

    def __init__(
        self, outputs: StackOutputs, table: str, since_load_id: str | None = None, target: GcsTarget | None = None
    ) -> None:
        super().__init__(table, since_load_id)
        found = target or gcs_landing_target(outputs)
        if found is None:
            raise ValueError("no GCS landing bucket in the stack outputs (gcs_buckets.landing)")
        self.target = found
        self.blobs: dict[str, Any] = {}
        self.where = f"gs://{self.target.bucket}/{self.target.table_prefix(self.dataset_name, table)}"

    def _keys(self) -> list[str]:
        from contract.clients import gcs_client

        gcs = gcs_client({"gcp_project": self.target.project, "endpoints": {"gcs": self.target.endpoint_url}})
        self.blobs = {b.name: b for b in gcs_table_blobs(gcs, self.target, self.dataset_name, self.table)}
        return list(self.blobs)

    def _download(self, key: str, spool: Any) -> None:
        self.blobs[key].download_to_file(spool)

    def _errors(self) -> tuple[type[Exception], ...]:
        from google.api_core.exceptions import GoogleAPIError
        from requests.exceptions import RequestException

        return GoogleAPIError, RequestException


def _json_lines(spool: Any) -> Iterator[dict[str, Any]]:
    """dlt gzips its jsonl files whatever their name says: look at the bytes, not the name."""
    magic = spool.read(2)
    spool.seek(0)
    with gzip.open(spool, "rt", encoding="utf-8") if magic == b"\x1f\x8b" else io.TextIOWrapper(spool, "utf-8") as text:
        for line in text:
            if line.strip():
                yield json.loads(line)


class SinkLakeStore:
    """The S3 sink's objects of one topic, read through contract.lake_readers."""

    stage = "lake-s3-sink"

    def __init__(
        self,
        outputs: StackOutputs,
        s3: Any,
        topic: str,
        since: Mapping[int, int] | None = None,
        written_since: datetime | None = None,
    ) -> None:
        self.outputs, self.s3, self.topic, self.written_since = outputs, s3, topic, written_since
        self.since = dict(since or {})
        self.complete = True  # as KafkaStore: `since` is where the current copy of the dataset starts
        self.where = f"s3://{outputs['s3_sink']['bucket']}/{sink_prefix(outputs, topic)}"
        self.coverage: dict[str, Any] = {}

    def records(self) -> Iterator[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        records = stream_sink_records(self.outputs, self.topic, self.since or None, self.s3, self.written_since)
        ends: dict[str, int] = {}
        try:
            for record in records:
                ends[str(record.partition)] = max(ends.get(str(record.partition), 0), record.offset + 1)
                yield record.value
        except (BotoCoreError, ClientError) as exc:
            raise StoreError(f"lake {self.where}: {exc}") from None
        self.coverage = {"topic": self.topic, "end_offsets": ends}
