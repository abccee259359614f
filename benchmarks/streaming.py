"""Streaming pipeline benchmark, against devstack's real servers.

Records sent with the loaders' SchemaRegistryJsonProducer to a fresh topic, written to S3 by a fresh S3 sink
connector with the platform's connector settings and variants of them: `flush.size` (records per object) and
`rotate.schedule.interval.ms` (the wall clock writes what a partition holds, so the last records of a burst land
without more arriving). Latency = first time a record's object is listed in S3 minus the time it was handed to
the producer (p50/p95/max), throughput = records / (last visible - first sent). Each variant is run --repeat
times, after a warm-up batch on its own connector; the table shows the median of the runs and each variant's
p50 against the platform's own settings measured in the same run.

`python -m benchmarks streaming [--quick] [--repeat N]`. --quick: 1k records instead of 5k, one run.
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
from benchmarks._results import show

SERVICES = ("moto", "kafka", "registry", "connect")


@dataclass(frozen=True)
class Variant:
    flush_size: int
    rotate_schedule_ms: int | None  # None: objects cut by flush.size only

    @property
    def label(self) -> str:
        schedule = f"{self.rotate_schedule_ms:,} ms" if self.rotate_schedule_ms else "off"
        return f"flush.size {self.flush_size}, rotate.schedule {schedule}"


def variants() -> list[Variant]:
    """The platform's settings first (the baseline), then a large flush.size and shorter schedules."""
    from contract.s3_sink import DEFAULT_ROTATE_SCHEDULE_INTERVAL_MS as PLATFORM_SCHEDULE

    return [Variant(3, PLATFORM_SCHEDULE), Variant(500, PLATFORM_SCHEDULE), Variant(500, 1_000), Variant(3, 1_000)]


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
    variant: Variant
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
    outputs: dict[str, Any], records: int, variant: Variant, report: Callable[[str], None]
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
    built = sink_config_for(outputs, (topic,), variant.flush_size, variant.rotate_schedule_ms)
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

            report(f"streaming: {records:,} records, {variant.label} ...")
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
            variant=variant,
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
def median_result(runs: list[StreamResult]) -> StreamResult:
    def med(attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs)

    return StreamResult(
        variant=runs[0].variant,
        records=runs[0].records,
        produce_seconds=med("produce_seconds"),
        end_to_end_seconds=med("end_to_end_seconds"),
        p50_ms=med("p50_ms"),
        p95_ms=med("p95_ms"),
        max_ms=med("max_ms"),
    )


def print_stream(console: Any, results: list[StreamResult], repeats: int) -> None:
    from rich.table import Table

    baseline = results[0]
    table = Table(title=f"streaming: producer -> Kafka -> S3 sink -> visible in S3 (median of {repeats} runs)")
    columns = ("flush.size", "rotate.schedule ms", "records", "produce s", "to S3 s", "records/s")
    for col in (*columns, "p50 ms", "p95 ms", "max ms", "p50 vs platform"):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            str(r.variant.flush_size),
            f"{r.variant.rotate_schedule_ms:,}" if r.variant.rotate_schedule_ms else "off",
            f"{r.records:,}",
            f"{r.produce_seconds:.2f}",
            f"{r.end_to_end_seconds:.2f}",
            f"{r.throughput:,.0f}",
            f"{r.p50_ms:,.0f}",
            f"{r.p95_ms:,.0f}",
            f"{r.max_ms:,.0f}",
            f"{r.p50_ms / baseline.p50_ms:.2f}x",
        )
    show(table, console)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks streaming", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k records instead of 5k, one run per variant")
    parser.add_argument("--repeat", "--repeats", type=int, default=None, help="runs per variant (default 3, --quick 1)")
    args, _ = parser.parse_known_args(argv)

    from rich.console import Console

    from benchmarks._common import platform_outputs
    from pipelines.common import quiet_http_clients

    console = Console(width=None if Console().is_terminal else 140)
    started = time.monotonic()
    outputs = platform_outputs(list(SERVICES))
    quiet_http_clients()

    def report(msg: str) -> None:
        console.print(f"[dim]{msg}[/]", highlight=False)

    records = 1_000 if args.quick else 5_000
    repeats = args.repeat or (1 if args.quick else 3)
    runs: dict[Variant, list[StreamResult]] = {v: [] for v in variants()}
    for attempt in range(repeats):  # variants interleaved, so a slow moment of the machine hits them all alike
        for variant in runs:
            report(f"run {attempt + 1}/{repeats}")
            runs[variant].append(bench_stream(outputs, records, variant, report))
    print_stream(console, [median_result(r) for r in runs.values()], repeats)
    console.print(f"streaming benchmark: {time.monotonic() - started:.0f}s ({'quick' if args.quick else 'full'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
