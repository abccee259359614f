"""Reconcile near each store's read ceiling: per store, reconcile's stage (the store read and digested, as
`pipelines.reconcile` does it) against the fastest plain read of the same rows with the same client, measured
in the same run. The ceilings: MongoDB a find with raw batches (undecoded BSON), DynamoDB a parallel Scan
(Segment/TotalSegments, the low-level client), Firestore one stream (parallel streams over key ranges are
slower on its emulator), Kafka each partition read in a thread of its own (raw bytes), the S3 sink's objects
fetched in threads and parsed by Arrow's JSON reader, dlt's parquet through Arrow. The stores are filled once
per size by the loaders (the S3 sink takes the streamed topic, cards: as many cards as transactions; dlt's
table is the same transactions as parquet). Each contender runs in its own process (its own peak RSS); a
warm-up round, then --repeats rounds in rotated order, medians. Target: reconcile at 0.8x of its store's
ceiling or better.

`python -m benchmarks reconcile_stores [--sizes 20000,200000] [--stores mongodb,kafka] [--repeats 3]`.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from rich.table import Table

from benchmarks._ceilings import CEILING_THREADS
from benchmarks._common import Contender, Trials, compare, delete_prefix, measure, platform_outputs
from benchmarks._results import part, say, show

STORES = ("mongodb", "dynamodb", "firestore", "kafka", "lake-s3-sink", "lake-dlt")
TARGET = 0.8
MODULE = "benchmarks.reconcile_stores"
#: the S3 sink takes the streamed topic only: its stage is measured on cards, as many as the transactions
SINK_DATASET = "cards"
#: how long the S3 sink may take to write what the Kafka load sent, per 1,000 records
SINK_WAIT_S_PER_1000 = 3.0


# --- the stores filled --------------------------------------------------------------------------------------------


def fill(outputs: dict[str, Any], rows: int, work: Path, stores: tuple[str, ...]) -> dict[str, Any]:
    """`rows` generated transactions in every store of `stores`; returns what the contenders need to find them."""
    from benchmarks.reconcile import write_lake
    from contract.outputs import validate_outputs
    from loaders.convert import convert_dir
    from loaders.generate import generate_dataset
    from loaders.load import load_dataset

    generate_dataset(work / "raw", rows, seed=11)
    assert convert_dir(work / "raw", work / "json", ["transactions"]).ok
    typed = validate_outputs(outputs, "the benchmark's platform")
    loads = [(s, "transactions") for s in ("mongodb", "dynamodb", "firestore", "kafka") if s in stores]
    if "lake-s3-sink" in stores:  # the sink takes the streamed topic (cards): as many cards as transactions
        from benchmarks.streaming import cards

        (work / "json" / "cards.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cards(rows, 1)))
        loads.append(("kafka", "cards"))
    for target, dataset in loads:
        started = time.monotonic()
        report = load_dataset(target, dataset, typed, work / "json", progress=False, count=False)
        if report.failed or report.written != rows:
            raise RuntimeError(f"{target}: the load wrote {report.written} of {rows}, {report.failed} failed")
        say(f"{rows:,} {dataset} loaded into {target} in {time.monotonic() - started:.1f} s")
    found: dict[str, Any] = {"rows": rows}
    if "lake-s3-sink" in stores:
        _wait_for_sink(outputs, rows)
    if "lake-dlt" in stores:
        found["prefix"] = write_lake(outputs, work / "json" / "transactions.jsonl")
    return found


def _wait_for_sink(outputs: dict[str, Any], rows: int) -> None:
    from contract.lake_readers import sink_prefix

    s3, bucket = _s3(outputs), outputs["s3_sink"]["bucket"]
    prefix = sink_prefix(outputs, outputs["kafka_topics"][SINK_DATASET])
    deadline = time.monotonic() + 60 + rows / 1000 * SINK_WAIT_S_PER_1000
    while time.monotonic() < deadline:
        if _sink_lines(s3, bucket, prefix) >= rows:
            return
        time.sleep(3)
    raise RuntimeError(f"the S3 sink wrote fewer than {rows:,} records under s3://{bucket}/{prefix} in time")


def _sink_lines(s3: Any, bucket: str, prefix: str) -> int:
    """Records in the sink's objects, from their names (each name carries its first offset) and bodies."""
    import gzip

    total = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            total += (gzip.decompress(body) if obj["Key"].endswith(".gz") else body).count(b"\n")
    return total


def _s3(outputs: dict[str, Any]) -> Any:
    from contract.clients import s3_client

    return s3_client(outputs)


def _outputs(path: str) -> Any:
    return json.loads(Path(path).read_text())


# --- reconcile's stage --------------------------------------------------------------------------------------------


def stage(outputs_path: str, stage_name: str, rows: int, prefix: str) -> None:
    """reconcile of the one stage (its store read and digested, then checked against itself): its rows all read."""
    from contract.lake_layout import landing_target
    from pipelines.reconcile.plan import Scope
    from pipelines.reconcile.run import reconcile

    outputs = _outputs(outputs_path)
    target = landing_target(outputs, prefix=prefix) if prefix else None
    dataset = SINK_DATASET if stage_name == "lake-s3-sink" else "transactions"
    report = reconcile(outputs, [dataset], Scope(stages=(stage_name,), dlt_target=target), store=False)
    (found,) = report.datasets[0].stages
    assert found.error is None, found.error
    assert found.comparison is not None and found.comparison.rows == rows, (stage_name, found.comparison)


# --- the ceilings: the fastest plain read of the same rows with the same client -----------------------------------


def ceiling(outputs_path: str, store: str, rows: int, prefix: str) -> None:
    outputs = _outputs(outputs_path)
    read: Any = {"mongodb": _mongodb, "dynamodb": _dynamodb, "firestore": _firestore, "kafka": _kafka,
            "lake-s3-sink": _sink_lake, "lake-dlt": _dlt_lake}[store]  # fmt: skip
    count = read(outputs, prefix) if store == "lake-dlt" else read(outputs)
    assert count == rows, f"{store}: the ceiling read {count} of {rows}"


def _mongodb(outputs: dict[str, Any]) -> int:
    """find_raw_batches: the server's batches as BSON bytes, nothing decoded; rows counted from the BSON."""
    from bson import decode_all

    from contract.clients import mongo_client

    client = mongo_client(outputs)
    try:
        coll = client[outputs["mongodb_database"]][outputs["mongodb_collections"]["transactions"]]
        return sum(len(decode_all(batch)) for batch in coll.find_raw_batches({}, batch_size=10_000))
    finally:
        client.close()


def _dynamodb(outputs: dict[str, Any]) -> int:
    """Scan in CEILING_THREADS segments at once (Segment/TotalSegments), each on a low-level client of its own."""
    from contract.clients import dynamodb_client

    table = outputs["dynamodb_tables"]["transactions"]

    def segment(number: int) -> int:
        client, count = dynamodb_client(outputs), 0
        kwargs: dict[str, Any] = {}
        while True:
            page = client.scan(TableName=table, Segment=number, TotalSegments=CEILING_THREADS, **kwargs)
            count += len(page["Items"])
            if "LastEvaluatedKey" not in page:
                return count
            kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}

    with ThreadPoolExecutor(CEILING_THREADS) as pool:
        return sum(pool.map(segment, range(CEILING_THREADS)))


def _firestore(outputs: dict[str, Any]) -> int:
    """One stream of the whole collection, snapshots counted, not turned into dicts. Parallel streams over key
    ranges are slower on the emulator, which scans the collection for every query with a range filter."""
    from contract.clients import firestore_client

    client = firestore_client(outputs)
    try:
        return sum(1 for _ in client.collection(outputs["firestore_collections"]["transactions"]).stream())
    finally:
        client.close()


def _kafka(outputs: dict[str, Any]) -> int:
    """Every partition read in a thread of its own, from the start to its end offset, values left as bytes."""
    import uuid

    from confluent_kafka import Consumer, TopicPartition

    from contract.clients import kafka_config

    topic = outputs["kafka_topics"]["transactions"]
    probe = Consumer(kafka_config(outputs, **{"group.id": f"bench-{uuid.uuid4().hex}"}))
    partitions = sorted(probe.list_topics(topic, timeout=10).topics[topic].partitions)
    ends = {p: probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    probe.close()

    def read(partition: int) -> int:
        settings = {"group.id": f"bench-{uuid.uuid4().hex}", "enable.auto.commit": False}
        consumer, count = Consumer(kafka_config(outputs, **settings)), 0
        consumer.assign([TopicPartition(topic, partition, 0)])
        try:
            while ends[partition] and count < ends[partition]:
                count += sum(1 for m in consumer.consume(10_000, timeout=1.0) if m.error() is None and m.value())
            return count
        finally:
            consumer.close()

    with ThreadPoolExecutor(len(partitions)) as pool:
        return sum(pool.map(read, partitions))


def _sink_lake(outputs: dict[str, Any]) -> int:
    """The sink's objects listed, fetched in CEILING_THREADS threads, and parsed by Arrow's JSON reader."""
    import gzip
    import io

    import pyarrow.json as pj

    from contract.lake_readers import sink_prefix

    s3, bucket = _s3(outputs), outputs["s3_sink"]["bucket"]
    prefix = sink_prefix(outputs, outputs["kafka_topics"][SINK_DATASET])
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])]  # fmt: skip

    def read(key: str) -> int:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return int(pj.read_json(io.BytesIO(gzip.decompress(body) if key.endswith(".gz") else body)).num_rows)

    with ThreadPoolExecutor(CEILING_THREADS) as pool:
        return sum(pool.map(read, keys))


def _dlt_lake(outputs: dict[str, Any], prefix: str) -> int:
    """dlt's parquet files listed, fetched, and read whole by Arrow."""
    import io

    import pyarrow.parquet as pq

    from contract.lake_layout import landing_target
    from contract.lake_readers import table_keys

    s3, target = _s3(outputs), landing_target(outputs, prefix=prefix)
    keys = table_keys(s3, target, "mongodb", "transactions")
    bodies = (s3.get_object(Bucket=target.bucket, Key=k)["Body"].read() for k in keys)
    return sum(pq.read_table(io.BytesIO(body)).num_rows for body in bodies)


# --- the run ------------------------------------------------------------------------------------------------------


def bench_size(outputs: dict[str, Any], rows: int, stores: tuple[str, ...], repeats: int) -> dict[str, Trials]:
    """Per store: its ceiling and reconcile's stage; returns {f"{store} ceiling" / f"{store} reconcile": trials}."""
    trials: dict[str, Trials] = {}
    with tempfile.TemporaryDirectory(prefix="bench-reconcile-stores-") as folder:
        work = Path(folder)
        outputs_path = work / "outputs.json"
        outputs_path.write_text(json.dumps(outputs))
        outputs_path.chmod(0o600)
        found = fill(outputs, rows, work, stores)
        try:
            for store in stores:
                args = (str(outputs_path), store, rows, found.get("prefix", "") if store == "lake-dlt" else "")
                contenders: dict[str, Contender] = {
                    f"{store} ceiling": partial(measure, "ceiling", MODULE, "ceiling", *args),
                    f"{store} reconcile": partial(measure, "reconcile", MODULE, "stage", *args),
                }
                try:
                    trials.update(compare(contenders, repeats=repeats))
                except RuntimeError as exc:  # one store's failure (a contender that crashed) keeps the others' figures
                    say(f"{rows:,} {store}: not measured, {str(exc).splitlines()[-1]}")
        finally:
            _empty(outputs, found)
    return trials


def _empty(outputs: dict[str, Any], found: dict[str, Any]) -> None:
    """The dlt prefix deleted; the other stores hold the stack's own tables, which the platform's teardown deletes
    with its home, and are overwritten by key at the next size (the Kafka topic and its lake are appended to, so
    each size runs on a platform whose topic it is the first to fill: see main)."""
    if found.get("prefix"):
        delete_prefix(_s3(outputs), outputs["s3_buckets"]["landing"], found["prefix"] + "/")


def shown(ratio: float) -> str:
    """Two decimals, rounded down: 0.798 of the ceiling must not read as the 0.80x target met."""
    return f"{math.floor(ratio * 100 + 1e-9) / 100:.2f}x"


def table(rows: int, stores: tuple[str, ...], trials: dict[str, Trials]) -> dict[str, float]:
    out = Table(title=f"reconcile's stage vs the store's read ceiling, {rows:,} transactions")
    for col in ("store", "ceiling s", "reconcile s", "ratio", "reconcile peak MB", "ceiling peak MB"):
        out.add_column(col, justify="left" if col == "store" else "right")
    ratios = {}
    for store in (s for s in stores if f"{s} reconcile" in trials):
        top, ours = trials[f"{store} ceiling"], trials[f"{store} reconcile"]
        ratios[store] = top.median / ours.median
        out.add_row(store, f"{top.median:.2f} ({top.spread()})", f"{ours.median:.2f} ({ours.spread()})",
                    shown(ratios[store]), f"{ours.peak or 0:,.0f}", f"{top.peak or 0:,.0f}")  # fmt: skip
    show(out)
    return ratios


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks reconcile_stores", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k transactions only")
    parser.add_argument("--sizes", help="comma-separated transaction counts (default 20000,200000)")
    parser.add_argument("--stores", default=",".join(STORES), help=f"comma-separated (default {','.join(STORES)})")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per store and size (default 3)")
    args, _ = parser.parse_known_args(argv)
    stores = tuple(s.strip() for s in args.stores.split(",") if s.strip())
    unknown = [s for s in stores if s not in STORES]
    if unknown:
        raise SystemExit(f"--stores: unknown {', '.join(unknown)}; choose from {', '.join(STORES)}")
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [20_000] if args.quick else [20_000, 200_000]
    worst = float("inf")
    for number, rows in enumerate(sizes):
        if number:  # a fresh platform: the topic and the sink's lake hold this size's records only
            from benchmarks import _platform

            _platform.teardown()
            _platform.isolate()
        # a section per size (and set of stores): a run of one keeps the others' figures
        part(f"{rows:,}" + ("" if stores == STORES else f", {'/'.join(stores)}"))
        outputs = platform_outputs(["moto", "dynamodb", "ferretdb", "firestore"])
        ratios = table(rows, stores, bench_size(outputs, rows, stores, args.repeats))
        if not ratios:
            return 1
        below = [f"{s} {shown(r)}" for s, r in ratios.items() if r < TARGET]
        say(
            f"{rows:,}: reconcile at {min(ratios.values()):.2f}x-{max(ratios.values()):.2f}x of the ceilings; "
            + (f"below {TARGET}x: {', '.join(below)}" if below else f"every store at {TARGET}x or better")
        )
        worst = min(worst, *ratios.values())
    return 0 if worst >= TARGET else 1
