"""Read what the batch pipeline wrote, straight from the bucket (boto3 + pyarrow), independent of dlt's own
state: the demo reconciles with it, the tests and the benchmark check the pipeline with it."""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

from pipelines.batch.settings import S3Target

#: columns dlt adds to every row (load id and row id), not part of the dataset
DLT_COLUMNS = frozenset({"_dlt_load_id", "_dlt_id"})


def table_keys(s3: Any, target: S3Target, dataset_name: str, table: str) -> list[str]:
    """The data files of one table, oldest load first (dlt's file names start with the load id)."""
    prefix = target.table_prefix(dataset_name, table)
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=target.bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", []) if _is_data_file(o["Key"])]
    return sorted(keys)


def _is_data_file(key: str) -> bool:
    name = key.rsplit("/", 1)[-1]
    return name.endswith((".parquet", ".jsonl", ".jsonl.gz")) and not name.startswith("init")


def read_file(body: bytes, key: str) -> list[dict[str, Any]]:
    if key.endswith(".parquet"):
        import pyarrow.parquet as pq

        rows: list[dict[str, Any]] = pq.read_table(io.BytesIO(body)).to_pylist()
        return rows
    if body[:2] == b"\x1f\x8b":  # dlt gzips jsonl files whatever their name says
        body = gzip.decompress(body)
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def read_table(
    s3: Any, target: S3Target, dataset_name: str, table: str, *, with_dlt_columns: bool = False
) -> list[dict[str, Any]]:
    """Every row of a table in the lake (all loads of an appended table, the last load of a replaced one)."""
    rows: list[dict[str, Any]] = []
    for key in table_keys(s3, target, dataset_name, table):
        body = s3.get_object(Bucket=target.bucket, Key=key)["Body"].read()
        for row in read_file(body, key):
            rows.append(row if with_dlt_columns else {k: v for k, v in row.items() if k not in DLT_COLUMNS})
    return rows


def read_columns(s3: Any, target: S3Target, dataset_name: str, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    """Only some columns of every row (parquet reads just those columns), e.g. the keys for a reconciliation."""
    values: list[tuple[Any, ...]] = []
    for key in table_keys(s3, target, dataset_name, table):
        body = s3.get_object(Bucket=target.bucket, Key=key)["Body"].read()
        if key.endswith(".parquet"):
            import pyarrow.parquet as pq

            data = pq.read_table(io.BytesIO(body), columns=columns).to_pydict()
            values += list(zip(*(data[c] for c in columns), strict=True))
        else:
            values += [tuple(row.get(c) for c in columns) for row in read_file(body, key)]
    return values


def count_rows(s3: Any, target: S3Target, dataset_name: str, table: str) -> int:
    """Rows of a table in the lake (parquet: from the file metadata, without decoding the columns)."""
    total = 0
    for key in table_keys(s3, target, dataset_name, table):
        body = s3.get_object(Bucket=target.bucket, Key=key)["Body"].read()
        if key.endswith(".parquet"):
            import pyarrow.parquet as pq

            total += pq.ParquetFile(io.BytesIO(body)).metadata.num_rows
        else:
            total += len(read_file(body, key))
    return total
