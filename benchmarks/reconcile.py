"""Reconciliation benchmark against devstack's moto S3, baselines measured in the same run.

The source file (converted transactions, JSON lines) against the lake (the same rows as parquet in S3, in dlt's
layout and types: `date` a UTC timestamp): ours (pipelines.reconcile: one streaming pass per store, per-row
digests in DuckDB on disk, per-segment checksums) against a naive baseline that reads both stores whole into
dicts of canonical rows and compares them key by key. Each contender runs in its own process (its own peak
RSS), at 20k and at 1M transactions (--quick: 20k and 100k); a warm-up round first, then --repeats rounds in
rotated order, medians with min-max. Targets: ours' peak RSS flat (at the large size within 1.5x of the small
one), the baseline's grows with the rows.

`python -m benchmarks reconcile [--quick] [--repeats 3]`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

from benchmarks._common import Trials, compare, delete_prefix, measure, platform_outputs, trials_table
from benchmarks._results import say

SERVICES = ("moto", "ferretdb")
PARQUET_ROWS = 250_000  # rows per lake file, as dlt rotates its files


def prepare(outputs: dict[str, Any], rows: int, work: Path) -> tuple[Path, str]:
    """A converted sample of `rows` transactions in `work`, and the same rows as parquet in the landing bucket
    under a prefix of its own; returns the source folder and the prefix."""
    from loaders.convert import convert_dir
    from loaders.generate import generate_dataset

    generate_dataset(work / "raw", rows, seed=7)
    assert convert_dir(work / "raw", work / "json").ok
    return work / "json", write_lake(outputs, work / "json" / "transactions.jsonl")


def write_lake(outputs: dict[str, Any], source: Path) -> str:
    """The rows of `source` (converted transactions) as dlt's parquet files in the landing bucket, under a prefix
    of its own (returned), in dlt's types: `date` a UTC timestamp."""
    import io

    import polars as pl

    from contract.clients import s3_client

    prefix = f"bench-reconcile-{uuid.uuid4().hex[:8]}"
    frame = pl.read_ndjson(source, infer_schema_length=None)
    frame = frame.with_columns(pl.col("date").str.to_datetime(time_zone="UTC"), pl.lit("1").alias("_dlt_load_id"))
    s3 = s3_client(outputs)
    for number, start in enumerate(range(0, frame.height, PARQUET_ROWS)):
        body = io.BytesIO()
        frame.slice(start, PARQUET_ROWS).write_parquet(body)
        key = f"{prefix}/mongodb/transactions/1.{number}.parquet"
        s3.put_object(Bucket=outputs["s3_buckets"]["landing"], Key=key, Body=body.getvalue())
    return prefix


def ours(outputs_path: str, source_dir: str, prefix: str) -> None:
    from pipelines.batch.settings import settings_from_outputs
    from pipelines.reconcile.plan import Scope
    from pipelines.reconcile.run import reconcile

    outputs = json.loads(Path(outputs_path).read_text())
    scope = Scope(
        Path(source_dir), ("source", "lake-dlt"), dlt_target=settings_from_outputs(outputs, prefix=prefix).target
    )
    report = reconcile(outputs, ["transactions"], scope, store=False)
    assert report.ok, report.failures()


def naive(outputs_path: str, source_dir: str, prefix: str) -> None:
    """Both stores whole in memory, key -> canonical row, compared key by key."""
    import io

    import pyarrow.parquet as pq

    from contract.clients import s3_client
    from contract.lake_readers import table_keys
    from pipelines.batch.settings import settings_from_outputs
    from pipelines.reconcile.canonical import canonical_row
    from schemas import load as load_schema

    outputs = json.loads(Path(outputs_path).read_text())
    schema = load_schema("transactions")
    lines = (Path(source_dir) / "transactions.jsonl").read_text().splitlines()
    source = {str(r["id"]): canonical_row(schema, r) for r in map(json.loads, lines)}
    target = settings_from_outputs(outputs, prefix=prefix).target
    s3, lake = s3_client(outputs), {}
    for key in table_keys(s3, target, "mongodb", "transactions"):
        table = pq.read_table(io.BytesIO(s3.get_object(Bucket=target.bucket, Key=key)["Body"].read()))
        lake.update({str(r["id"]): canonical_row(schema, r) for r in table.to_pylist()})
    differing = [k for k in source if lake.get(k) != source[k]] + [k for k in lake if k not in source]
    assert not differing, differing[:5]


def bench_size(outputs: dict[str, Any], rows: int, repeats: int, work: Path) -> dict[str, Trials]:
    from contract.clients import s3_client

    outputs_path = work / "outputs.json"
    outputs_path.write_text(json.dumps(outputs))
    outputs_path.chmod(0o600)
    source, prefix = prepare(outputs, rows, work)
    args = (str(outputs_path), str(source), prefix)
    contenders = {
        "naive (whole stores in dicts)": lambda: measure("naive", "benchmarks.reconcile", "naive", *args),
        "ours (streaming, DuckDB digests)": lambda: measure("ours", "benchmarks.reconcile", "ours", *args),
    }
    try:
        return compare(contenders, repeats=repeats)
    finally:
        delete_prefix(s3_client(outputs), outputs["s3_buckets"]["landing"], prefix + "/")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks reconcile", description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true", help="20k and 100k transactions instead of 20k and 1M")
    parser.add_argument("--sizes", help="comma-separated transaction counts (default 20000,1000000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per size (default 3)")
    args, _ = parser.parse_known_args(argv)
    outputs = platform_outputs(list(SERVICES))
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [20_000, 100_000 if args.quick else 1_000_000]
    peaks: dict[int, float | None] = {}
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-reconcile-") as folder:
            trials = bench_size(outputs, rows, args.repeats, Path(folder))
        trials_table(f"reconcile {rows:,} transactions: source file vs the lake", trials,
                     "naive (whole stores in dicts)", rows * 2)  # fmt: skip
        peaks[rows] = trials["ours (streaming, DuckDB digests)"].peak
    if len(sizes) < 2:
        return 0  # flatness needs two sizes
    small, large = peaks[sizes[0]] or 0.0, peaks[sizes[-1]] or 0.0
    flat = large <= 1.5 * small
    say(
        f"ours' peak RSS: {small:,.0f} MB at {sizes[0]:,} rows, {large:,.0f} MB at {sizes[-1]:,} "
        f"({large / small:.2f}x for {sizes[-1] // sizes[0]}x the rows): {'flat' if flat else 'NOT flat'}"
    )
    return 0 if flat else 1
