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
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._ceilings import CEILING_THREADS, CEILINGS, VARIANTS
from benchmarks._common import Trials, compare, fresh_ids_copy, platform_outputs, ratio_of, timed, trials_table
from benchmarks._convert import convert_bench
from benchmarks._results import part, say

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
