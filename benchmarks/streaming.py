"""Streaming pipeline benchmark, against devstack's real servers.

Records sent with the loaders' SchemaRegistryJsonProducer to a fresh topic, written to S3 by a fresh S3 sink
connector with the platform's connector settings (`flush.size` as the outputs' connector has it, and a larger
one for comparison); latency = first time a record's object is listed in S3 minus the time it was handed to
the producer (p50/p95), throughput = records / (last visible - first sent).

`python -m benchmarks streaming [--quick]`. --quick: 1k records instead of 5k.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from benchmarks._common import delete_prefix

SERVICES = ("moto", "kafka", "registry", "connect")
FLUSH_SIZES = ("platform", "500")  # "platform" = the outputs' connector's own flush.size


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
        delete_prefix(s3, bucket, sink_prefix(outputs, topic))


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


# --- report -----------------------------------------------------------------------------------------------
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
    parser = argparse.ArgumentParser(prog="python -m benchmarks streaming", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k records instead of 5k")
    args = parser.parse_args(argv)

    from rich.console import Console

    from benchmarks._common import platform_outputs
    from pipelines.common import quiet_http_clients

    console = Console(width=None if Console().is_terminal else 120)
    started = time.monotonic()
    outputs = platform_outputs(list(SERVICES))
    quiet_http_clients()

    def report(msg: str) -> None:
        console.print(f"[dim]{msg}[/]", highlight=False)

    records = 1_000 if args.quick else 5_000
    streams = [bench_stream(outputs, records, None if fs == "platform" else fs, report) for fs in FLUSH_SIZES]
    print_stream(console, streams)
    console.print(f"streaming benchmark: {time.monotonic() - started:.0f}s ({'quick' if args.quick else 'full'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
