"""Convert: our typed, validated converter vs the seed's untyped polars `scan_csv().sink_ndjson()`, pandas
`read_csv` + `to_json(lines=True)` and pyarrow's raw CSV parse, on generated transactions (default 2M and 13M
rows; --quick 200k and 1M), each in its own process for its peak RSS. Load: each target vs the naive
one-record-per-call way of the same client, both from the same starting state, against devstack (`--loads`);
and the Kafka load (registered JSON Schema serializer) vs a raw produce of the same JSON bytes.

    python -m benchmarks loaders [--quick] [--sizes 2000000,13000000] [--loads]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import Measurement, measure, platform_outputs, ratio_table


# --- contenders (run in child processes) -------------------------------------------------------------------
def ours(src: str, out: str) -> None:
    from loaders.convert import convert_dataset

    convert_dataset(Path(src), Path(out), "transactions")


def seed_polars(src: str, out: str) -> None:
    import polars as pl

    pl.scan_csv(Path(src) / "transactions_data.csv").sink_ndjson(Path(out) / "seed.jsonl")


def pandas_baseline(src: str, out: str) -> None:
    import pandas as pd

    pd.read_csv(Path(src) / "transactions_data.csv").to_json(Path(out) / "pandas.jsonl", orient="records", lines=True)


def pyarrow_parse(src: str, out: str) -> None:
    import pyarrow.csv as pacsv

    pacsv.read_csv(Path(src) / "transactions_data.csv")


def convert_bench(rows: int, work: Path, with_pandas: bool) -> list[Measurement]:
    from loaders.generate import generate_dataset

    src, out = work / f"raw-{rows}", work / f"out-{rows}"
    generate_dataset(src, rows, seed=1)
    out.mkdir(exist_ok=True)
    mod = "benchmarks.loaders"
    seed = measure("seed polars (untyped)", mod, "seed_polars", str(src), str(out))
    others = [measure("ours (typed, validated)", mod, "ours", str(src), str(out))]
    others.append(measure("pyarrow raw parse", mod, "pyarrow_parse", str(src), str(out)))
    if with_pandas:
        others.append(measure("pandas", mod, "pandas_baseline", str(src), str(out)))
    ratio_table(f"convert {rows:,} transactions", seed, others, n=rows)
    return [seed, *others]


# --- loads -----------------------------------------------------------------------------------------------------
def load_bench(rows: int, work: Path) -> None:
    from loaders.convert import convert_dir
    from loaders.generate import generate_dataset
    from loaders.load import load_dataset, open_sink

    outputs = platform_outputs(["moto", "ferretdb", "firestore"])
    raw, src = work / "load-raw", work / "load-json"
    generate_dataset(raw, rows, seed=2)
    convert_dir(raw, src, ["transactions"])
    records = [json.loads(line) for line in (src / "transactions.jsonl").read_text().splitlines()][:rows]
    for target in ("dynamodb", "firestore", "mongodb", "kafka"):
        _empty(target, outputs)
        t0 = time.perf_counter()
        sink = open_sink(target, "transactions", outputs, work / f"state-{time.time_ns()}")
        for record in records:  # the naive way: one call per record, through the same client
            sink.write([record])
            if target == "kafka":
                sink.finish()
        sink.close()
        naive = Measurement(f"{target} one per call", time.perf_counter() - t0)
        _empty(target, outputs)  # both start from the same state: a first load, not a re-run over the naive one
        t0 = time.perf_counter()
        shutil.rmtree(src / "_state", ignore_errors=True)  # no Kafka checkpoint: every record is sent
        load_dataset(target, "transactions", outputs, src, rows=rows, progress=False, count=False)
        ours = Measurement(f"{target} batched (ours)", time.perf_counter() - t0)
        ratio_table(f"load {rows:,} transactions → {target}", naive, [ours], n=rows)
    plain = Measurement("raw produce of the same JSON bytes", _raw_produce(records, outputs))
    t0 = time.perf_counter()
    shutil.rmtree(src / "_state", ignore_errors=True)
    load_dataset("kafka", "transactions", outputs, src, rows=rows, progress=False, count=False)
    serialized = Measurement("kafka: registered-schema serializer (ours)", time.perf_counter() - t0)
    ratio_table(f"produce {rows:,} transactions (target: ours ≥ 0.5x raw)", plain, [serialized], n=rows)


def _empty(target: str, outputs: dict[str, Any]) -> None:
    """Mongo inserts differ from replacements; the other targets overwrite a record at the same cost."""
    if target == "mongodb":
        import pymongo

        client: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(outputs["mongodb_uri"]) as client:
            client[outputs["mongodb_database"]].drop_collection(outputs["mongodb_collections"]["transactions"])


def _raw_produce(records: list[dict[str, Any]], outputs: dict[str, Any]) -> float:
    """Seconds to produce the records as plain JSON bytes, same key and producer settings as ours, no registry."""
    from confluent_kafka import Producer

    from schemas import load as load_schema

    schema = load_schema("transactions")
    payloads = [(schema.document_id(r).encode(), json.dumps(r).encode()) for r in records]
    producer = Producer(
        {
            "bootstrap.servers": outputs["kafka_bootstrap_servers"],
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 20,
            "compression.type": "lz4",
        }
    )
    topic = outputs["kafka_topics"]["transactions"]
    t0 = time.perf_counter()
    for key, value in payloads:
        producer.produce(topic, key=key, value=value)
        producer.poll(0)
    producer.flush(60)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks loaders", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes (about 2 minutes)")
    p.add_argument("--sizes", help="comma-separated transaction counts for the convert benchmark")
    p.add_argument("--loads", action="store_true", help="also the load benchmarks against devstack")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else (
        [200_000, 1_000_000] if args.quick else [2_000_000, 13_000_000])  # fmt: skip
    results: dict[int, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-loaders-") as tmp:
        for rows in sizes:
            results[rows] = convert_bench(rows, Path(tmp), with_pandas=rows <= 2_000_000)
        if len(sizes) > 1:
            small, large = (next(m for m in results[s] if m.name.startswith("ours")) for s in (sizes[0], sizes[-1]))
            print(f"peak RSS of ours: {large.peak_rss_mb:,.0f} MB at {sizes[-1]:,} rows vs {small.peak_rss_mb:,.0f} MB "
                  f"at {sizes[0]:,} rows = {large.peak_rss_mb / small.peak_rss_mb:.2f}x (target ≤ 1.2x)")  # fmt: skip
        if args.loads or args.quick:
            load_bench(2000 if args.quick else 10_000, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
