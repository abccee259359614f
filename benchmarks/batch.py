"""Batch pipeline benchmark, against devstack's real servers, baselines measured in the same run.

The dlt pipeline (pipelines.batch.run_dataset: MongoDB -> parquet in S3, incremental state, schema contract),
its pages as typed Arrow tables with the default readers (ours: one per two cores) and with two readers, and as
rows through dlt's normalize (before), and dlt -> jsonl, against a
naive baseline on the same documents: one pymongo `find`, JSON lines in memory, one boto3 `put_object`. A
warm-up round first, then the contenders in rotated order over --repeats rounds, each run a first full load;
medians with min-max. Target: ours >= 1.5x the naive path.

The floor is the server's read alone (one `find`, its batches taken as bytes: nothing decoded, no Python object
per document, nothing written): every path that reads each document once with one query pays it, so naive /
floor is the most a one-query pipeline can gain over the naive path here; parallel readers split the read into
queries devstack's FerretDB pushes down.

`python -m benchmarks batch [--quick] [--rows N] [--repeats 3]`. --quick: 20k rows instead of 100k; --rows: any
size (each dlt run also pays dlt's own fixed cost however few rows, which weighs at 100k and fades at 1M).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._common import Trials, compare, delete_prefix, ratio_of, timed, trials_table
from benchmarks._results import say

SERVICES = ("moto", "ferretdb")


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
def bench_batch(
    outputs: dict[str, Any], rows: int, report: Callable[[str], None], repeats: int = 3
) -> tuple[dict[str, Trials], float]:
    """Every contender on the same collection, each run a first full load (fresh lake prefix, fresh dlt worker);
    returns the trials and the seconds of an incremental re-run with nothing new."""
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

        def naive() -> None:
            lines = [json.dumps(doc) for doc in collection.find({}, projection={"_id": False}, batch_size=10_000)]
            body = ("\n".join(lines) + "\n").encode()
            s3.put_object(Bucket=bucket, Key=f"{prefix}/naive/transactions.jsonl", Body=body)

        runs: list[Any] = []

        def dlt_run(file_format: str, arrow: bool = True, readers: int | None = None) -> Callable[[], None]:
            def run() -> None:  # a fresh lake prefix and worker each time: every run is a first, full load
                settings = settings_from_outputs(outputs, database=database, prefix=f"{prefix}/{uuid.uuid4().hex[:6]}")
                with tempfile.TemporaryDirectory(prefix="bench-dlt-") as tmp:
                    load = run_dataset(settings, "transactions", file_format=file_format, pipelines_dir=Path(tmp),
                                       arrow=arrow, readers=readers)  # fmt: skip
                if load.rows != rows:
                    raise RuntimeError(f"dlt -> {file_format} loaded {load.rows} of {rows} rows")
                if file_format == "parquet" and arrow and readers is None:
                    runs.append(settings)

            return run

        def server_read() -> None:  # the server's batches as bytes: not even a Python object per document
            for _ in collection.find_raw_batches({}, batch_size=10_000):
                pass

        contenders = {
            NAIVE: timed("naive", naive),
            FLOOR: timed("floor", server_read),
            OURS: timed("arrow", dlt_run("parquet")),
            TWO_READERS: timed("arrow-2", dlt_run("parquet", readers=2)),
            "dlt -> parquet, rows (before)": timed("rows", dlt_run("parquet", arrow=False)),
            "dlt -> jsonl": timed("jsonl", dlt_run("jsonl")),
        }
        report(f"batch: {len(contenders)} contenders, warm-up round, then {repeats} rounds in rotated order ...")
        trials = compare(contenders, repeats)
        parquet_settings = runs[-1] if runs else None
        # "nothing new": a fresh worker restores the state from the bucket and reads only above the cursor
        report("batch: dlt incremental re-run on a fresh worker ...")
        with tempfile.TemporaryDirectory(prefix="bench-dlt-") as tmp:
            assert parquet_settings is not None
            again = run_dataset(parquet_settings, "transactions", pipelines_dir=Path(tmp))
        if again.rows:
            raise RuntimeError(f"the incremental re-run loaded {again.rows} rows again")
        return trials, again.seconds
    finally:
        client.drop_database(database)
        client.close()
        delete_prefix(s3, bucket, prefix + "/")


# --- report ----------------------------------------------------------------------------------------------
NAIVE = "naive: pymongo -> json lines -> 1 put"
OURS = "dlt -> parquet, Arrow pages, default readers (ours)"
TWO_READERS = "dlt -> parquet, Arrow pages, 2 readers"
FLOOR = "floor: the server's read alone (raw batches)"


def print_batch(trials: dict[str, Trials], rows: int, rerun_seconds: float) -> None:
    trials_table(f"batch: MongoDB -> S3, {rows:,} transactions (same documents, same run)", trials, NAIVE, rows)
    say(f"ours (typed parquet, incremental state, schema contract) = {ratio_of(trials, OURS, NAIVE):.2f}x the naive "
          f"path (target ≥ 1.5x; with 2 readers {ratio_of(trials, TWO_READERS, NAIVE):.2f}x); incremental re-run "
          f"with 0 new rows: {rerun_seconds:.2f} s")  # fmt: skip
    share = trials[FLOOR].median / trials[NAIVE].median
    say(f"the server's read alone is {share:.0%} of the naive path's time: no path that reads every document "
          f"with one query can beat it by more than {ratio_of(trials, FLOOR, NAIVE):.2f}x here; ours runs at "
          f"{ratio_of(trials, OURS, FLOOR):.2f}x the floor's speed")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks batch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k rows instead of 100k")
    parser.add_argument("--rows", type=int, default=None, help="transactions in the collection (default 100000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds after the warm-up (default 3)")
    args, _ = parser.parse_known_args(argv)

    from rich.console import Console

    from benchmarks._common import platform_outputs

    console = Console(width=None if Console().is_terminal else 120)
    started = time.monotonic()
    outputs = platform_outputs(list(SERVICES))

    def report(msg: str) -> None:
        console.print(f"[dim]{msg}[/]", highlight=False)

    rows = args.rows or (20_000 if args.quick else 100_000)
    trials, rerun = bench_batch(outputs, rows, report, args.repeats)
    print_batch(trials, rows, rerun)
    console.print(f"batch benchmark: {time.monotonic() - started:.0f}s ({'quick' if args.quick else 'full'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
