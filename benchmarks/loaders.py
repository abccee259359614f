"""Convert: our typed, validated converter vs the seed's untyped polars `scan_csv().sink_ndjson()`, pandas
`read_csv` + `to_json(lines=True)` and pyarrow's raw CSV parse, on generated transactions (default 2M and 13M
rows; --quick 200k and 1M), each in its own process for its peak RSS. Load (`--loads`, against devstack):
per target ours (validated, by key, resumable) vs the ceiling (the same client's fastest bulk call in 4
threads on records shaped beforehand; for MongoDB also with their BSON encoded beforehand) vs one call per
record, at 100k transactions (--load-sizes 100000,1000000 for 1M too; --quick 20k).
Every comparison: a warm-up round, then the contenders in rotated order over --repeats rounds from the same
starting state, medians with min-max.

    python -m benchmarks loaders [--quick] [--sizes 2000000,13000000] [--no-loads] [--load-sizes 100000,1000000]
    python -m benchmarks loaders --no-convert --targets kafka --load-sizes 100000   # one load, no convert
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks._common import (
    Contender,
    Trials,
    compare,
    fresh_ids_copy,
    measure,
    platform_outputs,
    ratio_of,
    timed,
    trials_table,
)
from benchmarks._results import part, say


# --- contenders (run in child processes) -------------------------------------------------------------------
def ours(src: str, out: str) -> None:
    from loaders.convert import convert_dataset

    convert_dataset(Path(src), Path(out), "transactions")


def ours_polars_path(src: str, out: str) -> None:
    from loaders.convert import convert_dataset

    convert_dataset(Path(src), Path(out), "transactions", engine="polars")


def seed_polars(src: str, out: str) -> None:
    import polars as pl

    pl.scan_csv(Path(src) / "transactions_data.csv").sink_ndjson(Path(out) / "seed.jsonl")


def pandas_baseline(src: str, out: str) -> None:
    import pandas as pd

    pd.read_csv(Path(src) / "transactions_data.csv").to_json(Path(out) / "pandas.jsonl", orient="records", lines=True)


def pyarrow_parse(src: str, out: str) -> None:
    import pyarrow.csv as pacsv

    pacsv.read_csv(Path(src) / "transactions_data.csv")


def convert_bench(rows: int, work: Path, with_pandas: bool, repeats: int = 3) -> dict[str, Trials]:
    """Each contender in its own process (its own peak RSS), a warm-up round first (page cache, imports), then
    `repeats` rounds in rotated order; every run writes the same output files afresh."""
    from loaders.generate import generate_dataset

    work = _memory_backed(work, rows)
    src, out = work / f"raw-{rows}", work / f"out-{rows}"
    generate_dataset(src, rows, seed=1)
    out.mkdir(exist_ok=True)
    mod = "benchmarks.loaders"
    names = {"seed polars (untyped)": "seed_polars", "ours (typed, validated)": "ours",
             "pyarrow raw parse": "pyarrow_parse"}  # fmt: skip
    if with_pandas:
        names["pandas"] = "pandas_baseline"
        names["ours without the kernel (polars path)"] = "ours_polars_path"
    contenders: dict[str, Contender] = {name: partial(measure, name, mod, function, str(src), str(out))
                                         for name, function in names.items()}  # fmt: skip
    trials = compare(contenders, repeats)
    trials_table(f"convert {rows:,} transactions", trials, "seed polars (untyped)", rows)
    say(f"convert {rows:,}: ours = {ratio_of(trials, 'ours (typed, validated)', 'seed polars (untyped)'):.2f}x "
          "the seed's untyped polars (target ≥ 0.8x)")  # fmt: skip
    shutil.rmtree(src)
    shutil.rmtree(out)
    if work.parent == Path("/dev/shm"):
        shutil.rmtree(work)
    return trials


#: bytes per transaction for the source CSV and each contender's JSON lines, with room to spare
_BYTES_PER_ROW = 100 + 2 * 250


def _memory_backed(work: Path, rows: int) -> Path:
    """A folder on tmpfs when /dev/shm has room for this size, else `work`. Every contender writes about 230
    bytes per row; on disk the same write's time swung by an order of magnitude with the writeback state, a
    spread that swamped the converters' own seconds."""
    shm = Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > 2 * rows * _BYTES_PER_ROW:
        folder = Path(tempfile.mkdtemp(prefix="bench-convert-", dir=shm))
        print(f"convert {rows:,}: source and outputs on tmpfs ({folder})")
        return folder
    print(f"convert {rows:,}: source and outputs on disk ({work}); expect noise from writeback")
    return work


# --- loads -----------------------------------------------------------------------------------------------------
#: threads (MongoDB: connections) the ceiling contenders write with, chosen for the machine: one per core (on 2
#: cores more threads were no faster for MongoDB or Firestore). `--ceiling-threads` sets another N.
CEILING_THREADS = max(2, os.cpu_count() or 2)
CHUNK = 500
LOAD_TARGETS = ("mongodb", "dynamodb", "firestore", "kafka")


def load_bench(
    rows: int,
    work: Path,
    targets: tuple[str, ...] = LOAD_TARGETS,
    repeats: int = 3,
    ceiling_threads: int = CEILING_THREADS,
) -> dict[str, float]:
    """Per target: ours (`load_dataset`: validated, by key, resumable) vs the ceiling (the same client's fastest
    bulk call on records parsed and shaped beforehand, no validation, no idempotence) vs one call per record
    (on the first 2,000 records: at 100k it would take minutes and say nothing new). Returns ours / ceiling."""
    from loaders.convert import convert_dir
    from loaders.generate import generate_dataset

    outputs = platform_outputs(["moto", "ferretdb", "firestore"])
    raw, src = work / f"load-raw-{rows}", work / f"load-json-{rows}"
    generate_dataset(raw, rows, seed=2)
    convert_dir(raw, src, ["transactions"])
    records = [json.loads(line) for line in (src / "transactions.jsonl").read_text().splitlines()][:rows]
    ratios: dict[str, float] = {}
    say(f"loads of {rows:,}: the MongoDB, DynamoDB and Firestore ceilings write from {ceiling_threads} threads")
    for target in targets:
        ceiling = CEILINGS[target](records, outputs, ceiling_threads)
        start = _StartingState(target, outputs, src)
        contenders = {
            "ours": timed("ours", lambda t=target, s=start: _ours(t, outputs, s.source, rows)),  # type: ignore[misc]
            "ceiling": timed("ceiling", ceiling),
        }
        own_lanes = _sink_lanes(target, outputs, work)
        if own_lanes not in (None, ceiling_threads):  # ours as it ships, and ours with the ceiling's threads
            contenders[f"ours, {ceiling_threads} lanes"] = timed(
                f"ours, {ceiling_threads} lanes",
                lambda t=target, s=start: _ours(t, outputs, s.source, rows, ceiling_threads),  # type: ignore[misc]
            )
        for name, variant in VARIANTS.get(target, {}).items():  # shown beside the ceiling, not the target's baseline
            contenders[name] = timed(name, variant(records, outputs, ceiling_threads))
        trials = compare(contenders, repeats, reset=start.reset)
        naive_rows = records[:2000]
        _empty(target, outputs)
        naive = timed("one per call", lambda t=target, n=naive_rows: _one_per_call(t, n, outputs, work))()  # type: ignore[misc]
        trials["one per call (2,000)"] = Trials("one per call (2,000)", [naive.seconds * rows / len(naive_rows)], [])
        trials_table(f"load {rows:,} transactions → {target} (one per call: its rate on 2,000, scaled)", trials,
                     "ceiling", rows)  # fmt: skip
        ratios[target] = ratio_of(trials, "ours", "ceiling")
        say(f"{target}: ours = {ratios[target]:.2f}x the ceiling (target ≥ 0.9x), "
              f"{ratio_of(trials, 'ours', 'one per call (2,000)'):.1f}x one per call")  # fmt: skip
        for name in VARIANTS.get(target, {}):
            say(f"{target}: ours = {ratio_of(trials, 'ours', name):.2f}x the {name}, "
                  f"which is {ratio_of(trials, name, 'ceiling'):.2f}x the ceiling")  # fmt: skip
        if f"ours, {ceiling_threads} lanes" in trials:
            say(f"{target}: ours with {ceiling_threads} lanes (not its {own_lanes}) = "
                  f"{ratio_of(trials, f'ours, {ceiling_threads} lanes', 'ceiling'):.2f}x the ceiling")  # fmt: skip
    return ratios


def _ours(target: str, outputs: dict[str, Any], src: Path, rows: int, lanes: int | None = None) -> None:
    from contract.outputs import validate_outputs
    from loaders.load import load_dataset

    shutil.rmtree(src / "_state", ignore_errors=True)  # no Kafka checkpoint: every record is sent
    typed = validate_outputs(outputs, "the benchmark's platform")
    report = load_dataset(target, "transactions", typed, src, rows=rows, progress=False, count=False, lanes=lanes)
    if report.failed or report.written != rows:
        raise RuntimeError(f"{target}: ours wrote {report.written} of {rows}, {report.failed} failed")


def _sink_lanes(target: str, outputs: dict[str, Any], work: Path) -> int | None:
    """The batches the target's sink writes at once by default (None: it sends from its client's threads)."""
    from contract.outputs import validate_outputs
    from loaders.load import open_sink

    typed = validate_outputs(outputs, "the benchmark's platform")
    sink = open_sink(target, "transactions", typed, work / f"state-{time.time_ns()}")
    sink.close()
    return getattr(sink, "lanes", None)


def _one_per_call(target: str, records: list[dict[str, Any]], outputs: dict[str, Any], work: Path) -> None:
    from contract.outputs import validate_outputs
    from loaders.load import open_sink

    typed = validate_outputs(outputs, "the benchmark's platform")
    sink = open_sink(target, "transactions", typed, work / f"state-{time.time_ns()}")
    for record in records:  # the naive way: one call per record, through the same client
        sink.write([record])
        if target == "kafka":
            sink.finish()
    sink.close()


def _in_threads(chunks: list[Any], write: Any, threads: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write, chunks))


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


def mongodb_ceiling(
    records: list[dict[str, Any]], outputs: dict[str, Any], threads: int = CEILING_THREADS, encoded: bool = False
) -> Any:
    """insert_many(ordered=False) of ready documents over `threads` pooled connections; `encoded`: the
    documents as BSON encoded before the clock starts (RawBSONDocument), as ours sends what its check wrote."""
    import bson
    import pymongo
    from bson.raw_bson import RawBSONDocument

    from schemas import load as load_schema

    schema = load_schema("transactions")
    docs: list[Any] = [{"_id": schema.document_id(r), **r} for r in records]
    if encoded:
        docs = [RawBSONDocument(bson.encode(doc)) for doc in docs]
    collection = outputs["mongodb_collections"]["transactions"]

    def run() -> None:
        client: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(outputs["mongodb_uri"], maxPoolSize=threads) as client:
            coll: Any = client[outputs["mongodb_database"]][collection]
            # insert_many adds nothing to documents that carry an _id, so the same list serves every run
            _in_threads(_chunks(docs), lambda chunk: coll.insert_many(chunk, ordered=False), threads)

    return run


def dynamodb_ceiling(records: list[dict[str, Any]], outputs: dict[str, Any], threads: int = CEILING_THREADS) -> Any:
    """BatchWriteItem of 25 items per call on the low-level client, unprocessed ones re-sent, in `threads`
    threads. The items are typed for the wire inside the run, as pymongo's BSON and Firestore's protobuf
    encoding are in theirs: a client cannot send a record any other way (only Kafka's bytes are prepared)."""
    from boto3.dynamodb.types import TypeSerializer

    from contract.clients import dynamodb_client
    from loaders.sinks.dynamodb import to_item

    table = outputs["dynamodb_tables"]["transactions"]
    batches = [records[i : i + 25] for i in range(0, len(records), 25)]

    def run() -> None:
        clients = [dynamodb_client(outputs) for _ in range(threads)]
        serialize = TypeSerializer().serialize

        def write(index_batch: tuple[int, list[dict[str, Any]]]) -> None:
            index, batch = index_batch
            items = [{"PutRequest": {"Item": {k: serialize(v) for k, v in to_item(r).items()}}} for r in batch]
            pending: dict[str, Any] = {table: items}
            while pending:
                pending = clients[index % threads].batch_write_item(RequestItems=pending)["UnprocessedItems"]

        _in_threads(list(enumerate(batches)), write, threads)

    return run


def firestore_ceiling(records: list[dict[str, Any]], outputs: dict[str, Any], threads: int = CEILING_THREADS) -> Any:
    """Batched commits of 500 ready documents in `threads` threads, one client."""
    from contract.clients import firestore_client
    from schemas import load as load_schema

    schema = load_schema("transactions")
    docs = [(schema.document_id(r), r) for r in records]

    def run() -> None:
        client = firestore_client(outputs)
        collection = client.collection(outputs["firestore_collections"]["transactions"])

        def commit(chunk: list[tuple[str, dict[str, Any]]]) -> None:
            batch = client.batch()
            for doc_id, record in chunk:
                batch.set(collection.document(doc_id), record)
            batch.commit()

        _in_threads(_chunks(docs), commit, threads)
        client.close()

    return run


def kafka_ceiling(
    records: list[dict[str, Any]], outputs: dict[str, Any], threads: int = 1, checked: bool = False
) -> Any:
    """Produce of pre-serialized key and JSON value bytes, same producer settings as ours, no registry, from one
    thread (`threads` is not used: librdkafka sends from its own). `checked`: the keys and values are what the
    loaders' compiled check makes of the records' JSON lines within the run (1 MB blocks checked in a thread
    ahead of the sends, as ours does), the least a validated load must add, without exactly-once or the registry."""
    from confluent_kafka import Producer

    from contract.kafka_auth import kafka_auth_config
    from loaders.sinks.kafka_producer import FAST_RECONNECT, POLL_EVERY
    from schemas import load as load_schema

    schema = load_schema("transactions")
    payloads = [] if checked else [(schema.document_id(r).encode(), json.dumps(r).encode()) for r in records]
    topic = outputs["kafka_topics"]["transactions"]
    settings = {"bootstrap.servers": outputs["kafka_bootstrap_servers"], "enable.idempotence": True, "acks": "all",
                "linger.ms": 20, "compression.type": "lz4", **FAST_RECONNECT, **kafka_auth_config(outputs)}  # fmt: skip
    blocks = _line_blocks(records) if checked else []

    def produce_all(producer: Any, pairs: Any) -> None:
        for sent, (key, value) in enumerate(pairs, start=1):
            while True:
                try:
                    producer.produce(topic, value, key)  # positional: cheaper per call than keywords
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    producer.poll(0.05)
            if sent % POLL_EVERY == 0:  # as often as ours polls
                producer.poll(0)

    def run() -> None:
        producer = Producer(settings)
        # metadata first, as ours does: a first produce to a topic the client knows nothing of waits for it
        producer.list_topics(topic, timeout=10)
        if checked:
            for ids, values in _checked_blocks(schema, blocks):
                produce_all(producer, zip(ids, values, strict=True))
        else:
            produce_all(producer, payloads)
        if producer.flush(120):
            raise RuntimeError("kafka ceiling: messages still undelivered after 120 s")

    return run


def _line_blocks(records: list[dict[str, Any]], size: int = 1 << 20) -> list[bytes]:
    """The records as compact JSON lines (as the converter writes them), in blocks of whole lines of ~`size`."""
    import orjson

    blocks, block = [], bytearray()
    for record in records:
        block += orjson.dumps(record) + b"\n"
        if len(block) >= size:
            blocks.append(bytes(block))
            block = bytearray()
    return [*blocks, bytes(block)] if block else blocks


def _checked_blocks(schema: Any, blocks: list[bytes]) -> Any:
    """(ids, values) of each block as the loaders' check accepts them, checked in a thread ahead of the caller."""
    from loaders.background import read_ahead
    from loaders.validate import RecordValidator

    validator = RecordValidator(schema)

    def check() -> Any:
        for block in blocks:
            ids, values, left, _lines = validator.accepted_block(block, 1, len(block))
            if left:
                raise RuntimeError(f"kafka ceiling: the check left {len(left)} lines to the full check")
            yield ids, values

    return read_ahead(check(), name="ceiling-checker")


CEILINGS = {"mongodb": mongodb_ceiling, "dynamodb": dynamodb_ceiling, "firestore": firestore_ceiling,
            "kafka": kafka_ceiling}  # fmt: skip
#: further contenders per target, each timed and tabled beside the ceiling: MongoDB's ceiling encodes its dicts
#: within the run (the client's work for a document), ours sends the BSON its compiled check wrote, so the
#: ceiling with that work done beforehand is shown too. Kafka's ceiling sends bytes made before its clock; with
#: the lines checked in the run it pays what any validated load pays, and the rest of ours is exactly-once and
#: the registry: the two parts of the gap, measured apart
VARIANTS = {
    "mongodb": {"ceiling, BSON encoded beforehand": partial(mongodb_ceiling, encoded=True)},
    "kafka": {"ceiling, lines checked in the run": partial(kafka_ceiling, checked=True)},
}


class _StartingState:
    """Before every run: MongoDB's collection emptied; for Kafka, a copy of the source whose ids no run sent
    before, since our exactly-once load finds on the topic what an earlier run delivered and sends none of it
    again (the topic belongs to the stack: it is not deleted). Its first look at the topic is part of our time."""

    def __init__(self, target: str, outputs: dict[str, Any], source: Path) -> None:
        self.target, self.outputs, self.original, self.source = target, outputs, source, source
        self.runs = 0

    def reset(self) -> None:
        _empty(self.target, self.outputs)
        if self.target != "kafka":
            return
        self.runs += 1
        self.source = self.original.with_name(f"{self.original.name}-fresh")
        fresh_ids_copy(self.original, self.source)


def _empty(target: str, outputs: dict[str, Any]) -> None:
    """The same starting state for every contender. MongoDB: an empty collection (inserts into it differ from
    replacements of what is there). The other targets overwrite a record by key at the cost of a new one, and
    their objects belong to the stack: after the warm-up round they hold the same records before every run."""
    if target == "mongodb":
        import pymongo

        client: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(outputs["mongodb_uri"]) as client:
            client[outputs["mongodb_database"]].drop_collection(outputs["mongodb_collections"]["transactions"])


def _targets(text: str) -> tuple[str, ...]:
    targets = tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [t for t in targets if t not in LOAD_TARGETS]
    if unknown:
        raise SystemExit(f"--targets: unknown {', '.join(unknown)}; choose from {', '.join(LOAD_TARGETS)}")
    return targets


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks loaders", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes (about 2 minutes)")
    p.add_argument("--sizes", help="comma-separated transaction counts for the convert benchmark")
    p.add_argument("--loads", action="store_true", help="the load benchmarks against devstack (the default)")
    p.add_argument("--no-loads", action="store_true", help="only the convert benchmark")
    p.add_argument("--no-convert", action="store_true", help="only the load benchmarks")
    p.add_argument("--targets", default=",".join(LOAD_TARGETS),
                   help=f"comma-separated load targets (default {','.join(LOAD_TARGETS)})")  # fmt: skip
    p.add_argument("--load-sizes", help="comma-separated transaction counts for the loads (default 100000; "
                   "--quick 20000); 1000000 takes ~45 minutes here, most of it DynamoDB on moto")  # fmt: skip
    p.add_argument("--repeats", type=int, default=3, help="timed rounds after the warm-up (default 3)")
    p.add_argument("--ceiling-threads", type=int, default=CEILING_THREADS, metavar="N",
                   help=f"threads of the MongoDB, DynamoDB and Firestore ceilings (default: one per core, "
                   f"{CEILING_THREADS} here)")  # fmt: skip
    args, _ = p.parse_known_args(argv)
    load_sizes = [int(s) for s in args.load_sizes.split(",")] if args.load_sizes else (
        [20_000] if args.quick else [100_000])  # fmt: skip
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else (
        [200_000, 1_000_000] if args.quick else [2_000_000, 13_000_000])  # fmt: skip
    results: dict[int, dict[str, Trials]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-loaders-") as tmp:
        part("convert")
        for rows in [] if args.no_convert else sizes:
            results[rows] = convert_bench(rows, Path(tmp), with_pandas=rows <= 2_000_000, repeats=args.repeats)
        if len(results) > 1:
            small, large = (results[s]["ours (typed, validated)"].peak or 0.0 for s in (sizes[0], sizes[-1]))
            say(f"peak RSS of ours: {large:,.0f} MB at {sizes[-1]:,} rows vs {small:,.0f} MB "
                  f"at {sizes[0]:,} rows = {large / small:.2f}x (target ≤ 1.2x)")  # fmt: skip
        part(None)
        if not args.no_loads:
            for rows in load_sizes:
                load_bench(rows, Path(tmp), _targets(args.targets), args.repeats, args.ceiling_threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
