"""Batch pipeline benchmark, against devstack's real servers, baselines measured in the same run.

The dlt pipeline (pipelines.batch.run_dataset: MongoDB -> parquet in S3, incremental state, schema contract,
dlt's extract/normalize/load) against a naive baseline on the same documents: one pymongo `find`, JSON lines
in memory, one boto3 `put_object`. Reported as rows/s and dlt's share of the naive speed: the price of typed
parquet, state and contracts.

`python -m benchmarks batch [--quick]`. --quick: 20k rows instead of 100k.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from benchmarks._common import delete_prefix

SERVICES = ("moto", "ferretdb")


@dataclass(frozen=True)
class Measurement:
    name: str
    rows: int
    seconds: float
    extra: str = ""

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def transactions(n: int, start_id: int = 1) -> list[dict[str, Any]]:
    """Transactions-shaped documents, valid against schemas/transactions.json."""
    chips = ("Swipe Transaction", "Chip Transaction", "Online Transaction")
    return [
        {
            "_id": str(start_id + i),
            "id": start_id + i,
            "date": f"2015-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00",
            "client_id": i % 2_000,
            "card_id": i % 6_146,
            "amount": round((i % 7_000) * 0.97 - 500, 2),
            "use_chip": chips[i % 3],
            "merchant_id": 10_000 + i % 9_000,
            "merchant_city": "ONLINE" if i % 3 == 2 else f"City {i % 500}",
            "merchant_state": None if i % 3 == 2 else ("CA", "NY", "TX", "IL")[i % 4],
            "zip": None if i % 3 == 2 else f"{10_000 + i % 89_999:05d}",
            "mcc": (5812, 5411, 4829, 5541, 5912)[i % 5],
            "errors": None if i % 50 else "Insufficient Balance",
        }
        for i in range(n)
    ]


# --- batch -----------------------------------------------------------------------------------------------
def bench_batch(outputs: dict[str, Any], rows: int, report: Callable[[str], None]) -> list[Measurement]:
    import pymongo

    from contract.clients import s3_client
    from pipelines.batch.run import run_dataset
    from pipelines.batch.settings import settings_from_outputs

    database = f"bench-{uuid.uuid4().hex[:8]}"
    prefix = f"bench/{database}"
    collection_name = outputs["mongodb_collections"]["transactions"]
    client: Any = pymongo.MongoClient(outputs["mongodb_uri"], serverSelectionTimeoutMS=10_000)
    s3 = s3_client(outputs)
    bucket = outputs["s3_buckets"]["landing"]
    try:
        collection = client[database][collection_name]
        report(f"batch: inserting {rows:,} transactions into MongoDB {database} ...")
        docs = transactions(rows)
        for start in range(0, rows, 10_000):
            collection.insert_many(docs[start : start + 10_000], ordered=False)
        del docs

        report("batch: naive pymongo -> one boto3 put of JSON lines ...")
        started = time.perf_counter()
        lines = [json.dumps(doc) for doc in collection.find({}, projection={"_id": False}, batch_size=10_000)]
        body = ("\n".join(lines) + "\n").encode()
        s3.put_object(Bucket=bucket, Key=f"{prefix}/naive/transactions.jsonl", Body=body)
        naive = Measurement("naive: pymongo -> json lines -> 1 put", len(lines), time.perf_counter() - started)
        naive = Measurement(naive.name, naive.rows, naive.seconds, f"{len(body) / 1e6:.1f} MB, no types, no state")

        results = [naive]
        # dlt's first run in a process pays for imports and setup: warm it up on a small collection first
        warm_collection = f"{collection_name}-warmup"
        client[database][warm_collection].insert_many(transactions(100))
        warm = settings_from_outputs(outputs, database=database, prefix=f"{prefix}/warmup")
        warm = replace(warm, collections={**warm.collections, "transactions": warm_collection})
        for file_format in ("parquet", "jsonl"):
            with tempfile.TemporaryDirectory(prefix="bench-dlt-") as tmp:
                run_dataset(warm, "transactions", file_format=file_format, pipelines_dir=Path(tmp))
        parquet_settings = None
        for file_format in ("parquet", "jsonl"):
            report(f"batch: dlt MongoDB -> S3 ({file_format}) ...")
            settings = settings_from_outputs(outputs, database=database, prefix=f"{prefix}/{file_format}")
            parquet_settings = parquet_settings or settings
            with tempfile.TemporaryDirectory(prefix="bench-dlt-") as tmp:
                load = run_dataset(settings, "transactions", file_format=file_format, pipelines_dir=Path(tmp))
            results.append(
                Measurement(f"dlt -> {file_format}", load.rows, load.seconds, f"{load.files} file(s), typed, state")
            )
        # "nothing new": a fresh worker restores the state from the bucket and reads only above the cursor
        report("batch: dlt incremental re-run on a fresh worker ...")
        with tempfile.TemporaryDirectory(prefix="bench-dlt-") as tmp:
            assert parquet_settings is not None
            again = run_dataset(parquet_settings, "transactions", pipelines_dir=Path(tmp))
        if again.rows:
            raise RuntimeError(f"the incremental re-run loaded {again.rows} rows again")
        results.append(Measurement("dlt incremental re-run, 0 new", 0, again.seconds, "state from the bucket"))
        return results
    finally:
        client.drop_database(database)
        client.close()
        delete_prefix(s3, bucket, prefix + "/")


# --- report ----------------------------------------------------------------------------------------------
def print_batch(console: Any, results: list[Measurement]) -> None:
    from rich.table import Table

    naive = results[0]
    table = Table(title="batch: MongoDB -> S3 (same documents, same run)")
    for col in ("pipeline", "rows", "seconds", "rows/s", "vs naive", "what"):
        table.add_column(col, justify="left" if col in ("pipeline", "what") else "right")
    for m in results:
        ratio = "baseline" if m is naive else f"{m.rows_per_s / naive.rows_per_s:.2f}x" if m.rows else "—"
        rate = f"{m.rows_per_s:,.0f}" if m.rows else "—"
        table.add_row(m.name, f"{m.rows:,}", f"{m.seconds:.2f}", rate, ratio, m.extra)
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks batch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k rows instead of 100k")
    args = parser.parse_args(argv)

    from rich.console import Console

    from benchmarks._common import platform_outputs

    console = Console(width=None if Console().is_terminal else 120)
    started = time.monotonic()
    outputs = platform_outputs(list(SERVICES))

    def report(msg: str) -> None:
        console.print(f"[dim]{msg}[/]", highlight=False)

    print_batch(console, bench_batch(outputs, 20_000 if args.quick else 100_000, report))
    console.print(f"batch benchmark: {time.monotonic() - started:.0f}s ({'quick' if args.quick else 'full'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
