"""Pipelines benchmark, against devstack's real servers, baselines measured in the same run.

Batch: the dlt pipeline (pipelines.batch.run_dataset: MongoDB -> parquet in S3, incremental state, schema
contract, dlt's extract/normalize/load) against a naive baseline on the same documents: one pymongo `find`,
JSON lines in memory, one boto3 `put_object`. Reported as rows/s and dlt's share of the naive speed: the price
of typed parquet, state and contracts.

Streaming: records sent with the loaders' SchemaRegistryJsonProducer to a fresh topic, written to S3 by a
fresh S3 sink connector with the platform's connector settings (`flush.size` as the outputs' connector has
it, and a larger one for comparison); latency = first time a record's object is listed in S3 minus the time
it was handed to the producer (p50/p95), throughput = records / (last visible - first sent).

`python -m benchmarks pipelines [--quick]` (or `python -m benchmarks.pipelines`). --quick: ~2 minutes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

SERVICES = ("moto", "ferretdb", "kafka", "registry", "connect")


@dataclass(frozen=True)
class Sizes:
    batch_rows: int
    stream_records: int
    flush_sizes: tuple[str, ...]  # "platform" = the outputs' connector's own flush.size


FULL = Sizes(batch_rows=100_000, stream_records=5_000, flush_sizes=("platform", "500"))
QUICK = Sizes(batch_rows=20_000, stream_records=1_000, flush_sizes=("platform", "500"))


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


def cards(n: int, start_id: int) -> list[dict[str, Any]]:
    return [
        {
            "id": start_id + i,
            "client_id": i % 2_000,
            "card_brand": ("Visa", "Mastercard", "Amex", "Discover")[i % 4],
            "card_type": ("Credit", "Debit", "Debit (Prepaid)")[i % 3],
            "card_number": 4_000_000_000_000_000 + i,
            "expires": f"20{20 + i % 10}-{1 + i % 12:02d}",
            "cvv": 100 + i % 900,
            "has_chip": i % 7 != 0,
            "num_cards_issued": 1 + i % 3,
            "credit_limit": float(1_000 + i % 50_000),
            "acct_open_date": f"{2000 + i % 20}-{1 + i % 12:02d}",
            "year_pin_last_changed": 2008 + i % 12,
            "card_on_dark_web": False,
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
        _delete_prefix(s3, bucket, prefix + "/")


def _delete_prefix(s3: Any, bucket: str, prefix: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})


# --- streaming -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StreamResult:
    flush_size: str
    records: int
    produce_seconds: float
    end_to_end_seconds: float
    p50_ms: float
    p95_ms: float
    max_ms: float

    @property
    def throughput(self) -> float:
        return self.records / self.end_to_end_seconds


def bench_stream(
    outputs: dict[str, Any], records: int, flush_size: str | None, report: Callable[[str], None]
) -> StreamResult:
    from confluent_kafka.admin import AdminClient, NewTopic

    from components.connect.client import ConnectClient
    from contract.clients import s3_client
    from contract.s3_sink import sink_config_for
    from loaders.sinks.kafka import SchemaRegistryJsonProducer
    from pipelines.streaming.sink import sink_prefix
    from schemas import load as load_schema

    topic = f"bench-cards-{uuid.uuid4().hex[:8]}"
    connector = f"bench-s3-sink-{topic[-8:]}"
    admin = AdminClient({"bootstrap.servers": outputs["kafka_bootstrap_servers"]})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(30)
    s3 = s3_client(outputs)
    bucket = outputs["s3_sink"]["bucket"]
    # a throwaway connector with the stack's sink config, for this benchmark's own topic
    client = ConnectClient.from_outputs(outputs, timeout_s=30.0)
    built = sink_config_for(outputs, (topic,), int(flush_size or 3))
    config = {**built.config, **built.secret_config}
    try:
        client.ensure(connector, config)
        prefix = sink_prefix(outputs, topic)
        with SchemaRegistryJsonProducer(
            outputs["kafka_bootstrap_servers"], outputs["schema_registry_url"], topic, load_schema("cards")
        ) as producer:
            # warm-up: the connector's task joins its consumer group after RUNNING; time only the steady state
            warmup = cards(30, start_id=10_000_000)
            for record in warmup:
                producer.send(record)
            producer.flush(timeout=60)
            watched = _SinkWatch(s3, bucket, prefix)
            watched.wait({r["id"] for r in warmup}, timeout=120)

            report(f"streaming: {records:,} records, flush.size {config.get('flush.size')} ...")
            data = cards(records, start_id=1)
            sent_at: dict[int, float] = {}
            # the bucket is watched while the records are produced, so early arrivals are timed when they land
            with ThreadPoolExecutor(max_workers=1) as pool:
                landing = pool.submit(watched.wait, {r["id"] for r in data}, 300.0)
                started = time.perf_counter()
                for record in data:
                    sent_at[record["id"]] = time.perf_counter()
                    producer.send(record)
                counts = producer.flush(timeout=60)
                produce_seconds = time.perf_counter() - started
                seen_at = landing.result()
        if counts.delivered != records + len(warmup):
            raise RuntimeError(f"only {counts.delivered} of {records} delivered ({counts.failed} failed)")
        latencies = sorted((seen_at[i] - sent_at[i]) * 1000 for i in sent_at)
        return StreamResult(
            flush_size=str(config.get("flush.size")),
            records=records,
            produce_seconds=produce_seconds,
            end_to_end_seconds=max(seen_at[i] for i in sent_at) - started,
            p50_ms=statistics.median(latencies),
            p95_ms=latencies[int(0.95 * (len(latencies) - 1))],
            max_ms=latencies[-1],
        )
    finally:
        client.delete(connector)
        admin.delete_topics([topic])
        _delete_prefix(s3, bucket, sink_prefix(outputs, topic))


class _SinkWatch:
    """When each record first became visible in S3 (id -> time). Objects are named by their first offset
    (10 digits), so listing a partition after the last key seen returns only new objects."""

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self.s3, self.bucket, self.prefix = s3, bucket, prefix
        self.seen: dict[int, float] = {}
        self.last_key: dict[str, str] = {}

    def poll(self) -> None:
        listing = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, Delimiter="/")
        for part in (p["Prefix"] for p in listing.get("CommonPrefixes", [])):
            kwargs = {"Bucket": self.bucket, "Prefix": part}
            if part in self.last_key:
                kwargs["StartAfter"] = self.last_key[part]
            for obj in self.s3.list_objects_v2(**kwargs).get("Contents", []):
                now = time.perf_counter()
                body = self.s3.get_object(Bucket=self.bucket, Key=obj["Key"])["Body"].read()
                for line in body.splitlines():
                    self.seen.setdefault(json.loads(line)["id"], now)
                self.last_key[part] = obj["Key"]

    def wait(self, ids: set[int], timeout: float) -> dict[int, float]:
        deadline = time.perf_counter() + timeout
        while not ids <= self.seen.keys():
            if time.perf_counter() > deadline:
                missing = len(ids - self.seen.keys())
                raise RuntimeError(f"{missing} of {len(ids)} records did not reach s3://{self.bucket}/{self.prefix}")
            self.poll()
            time.sleep(0.1)
        return self.seen


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


def print_stream(console: Any, results: list[StreamResult]) -> None:
    from rich.table import Table

    table = Table(title="streaming: producer -> Kafka -> S3 sink -> visible in S3")
    for col in ("flush.size", "records", "produce s", "to S3 s", "records/s", "p50 ms", "p95 ms", "max ms"):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            r.flush_size,
            f"{r.records:,}",
            f"{r.produce_seconds:.2f}",
            f"{r.end_to_end_seconds:.2f}",
            f"{r.throughput:,.0f}",
            f"{r.p50_ms:,.0f}",
            f"{r.p95_ms:,.0f}",
            f"{r.max_ms:,.0f}",
        )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks pipelines", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, about 2 minutes")
    parser.add_argument("--only", choices=("batch", "streaming"), help="run one half only")
    args = parser.parse_args(argv)

    from rich.console import Console

    from benchmarks._common import platform_outputs
    from pipelines.common import quiet_http_clients

    console = Console(width=None if Console().is_terminal else 120)
    sizes = QUICK if args.quick else FULL
    started = time.monotonic()
    outputs = platform_outputs(list(SERVICES))

    def report(msg: str) -> None:
        console.print(f"[dim]{msg}[/]", highlight=False)

    if args.only in (None, "batch"):
        print_batch(console, bench_batch(outputs, sizes.batch_rows, report))
    if args.only in (None, "streaming"):
        quiet_http_clients()
        streams = [
            bench_stream(outputs, sizes.stream_records, None if fs == "platform" else fs, report)
            for fs in sizes.flush_sizes
        ]
        print_stream(console, streams)
    console.print(f"pipelines benchmark: {time.monotonic() - started:.0f}s ({'quick' if args.quick else 'full'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
