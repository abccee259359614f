"""How cost grows: the demo path (convert, the four loads, the batch pipeline, the streaming producer) on
generated transactions at several sizes, each stage in its own process, against devstack's real servers.

Per size and stage: seconds, rows/s and the stage's peak RSS; "cost/row vs smallest" is the time per row
against the same stage at the smallest size, so a stage that grows faster than its input (> 1x) shows at a
glance. Every stage starts from the same state at every size (an empty MongoDB collection, no Kafka
checkpoint, a fresh lake prefix).

    python -m benchmarks scaling [--quick] [--sizes 20000,200000,2000000] [--stages convert,mongodb,kafka]

--quick: 20k and 200k. The real dataset's size through convert and the MongoDB and Kafka loads:
    python -m benchmarks scaling --sizes 13000000 --stages convert,mongodb,kafka
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from rich.table import Table

from benchmarks._common import Measurement, delete_prefix, fresh_ids_copy, measure, platform_outputs
from benchmarks._results import show
from contract.outputs import StackOutputs

STAGES = ("convert", "mongodb", "dynamodb", "firestore", "kafka", "batch", "streaming")
SIZES = (20_000, 200_000, 2_000_000)


# --- stages (run in child processes: each peak RSS is the stage's own) -------------------------------------
def _outputs(path: str) -> StackOutputs:
    from contract.outputs import validate_outputs

    return validate_outputs(json.loads(Path(path).read_text()), path)


def stage_convert(raw: str, converted: str) -> None:
    from loaders.convert import convert_dataset

    report = convert_dataset(Path(raw), Path(converted), "transactions")
    if report.rejected:
        raise RuntimeError(f"convert rejected {report.rejected} generated rows")


def stage_load(target: str, converted: str, outputs_path: str) -> None:
    from loaders.load import load_dataset

    report = load_dataset(target, "transactions", _outputs(outputs_path), Path(converted), progress=False, count=False)
    if report.failed or report.written != report.read:
        raise RuntimeError(f"{target}: wrote {report.written} of {report.read}, {report.failed} failed")


def stage_batch(outputs_path: str, prefix: str, pipelines_dir: str) -> None:
    from pipelines.batch.run import run_dataset
    from pipelines.batch.settings import settings_from_outputs

    settings = settings_from_outputs(_outputs(outputs_path), prefix=prefix)
    run_dataset(settings, "transactions", pipelines_dir=Path(pipelines_dir))


def stage_streaming(converted: str, outputs_path: str) -> None:
    from loaders.load import load_dataset

    report = load_dataset(
        "kafka", "transactions", _outputs(outputs_path), Path(converted), progress=False, count=False, checkpoint=False
    )
    if report.written != report.read:
        raise RuntimeError(f"streaming: delivered {report.written} of {report.read}")


# --- the run -------------------------------------------------------------------------------------------------
def run_size(
    rows: int, stages: list[str], work: Path, outputs: dict[str, Any], outputs_path: Path
) -> list[Measurement]:
    from loaders.generate import generate_dataset

    raw, converted = work / f"raw-{rows}", work / f"converted-{rows}"
    generate_dataset(raw, rows, seed=3)
    mod = "benchmarks.scaling"
    results = [_done(rows, measure("convert", mod, "stage_convert", str(raw), str(converted)))]
    if not converted.joinpath("transactions.jsonl").exists():
        raise RuntimeError("convert wrote nothing")
    shutil.rmtree(raw)
    for stage in stages:
        if stage in ("convert",):
            continue
        if stage in ("mongodb", "dynamodb", "firestore", "kafka"):
            source = _fresh_start(stage, outputs, converted)
            results.append(_done(rows, measure(stage, mod, "stage_load", stage, str(source), str(outputs_path))))
        elif stage == "batch":
            if "mongodb" not in stages:
                raise SystemExit("the batch stage reads what the mongodb stage loaded: choose both")
            prefix = f"bench/scaling-{uuid.uuid4().hex[:8]}"
            try:
                results.append(
                    _done(rows, measure(stage, mod, "stage_batch", str(outputs_path), prefix, str(work / "dlt")))
                )
            finally:
                _drop_lake(outputs, prefix)
        elif stage == "streaming":
            results.append(_done(rows, measure(stage, mod, "stage_streaming", str(converted), str(outputs_path))))
    shutil.rmtree(converted)
    shutil.rmtree(converted.with_name(f"{converted.name}-fresh-ids"), ignore_errors=True)
    return [m for m in results if m.name != "convert" or "convert" in stages]


def _done(rows: int, m: Measurement) -> Measurement:
    """A stage's figures as soon as it ends: a 2M run takes long, and a stopped one keeps what it measured."""
    print(f"  {rows:,} {m.name}: {m.seconds:.2f} s, {rows / m.seconds:,.0f} rows/s, peak RSS {m.peak_rss_mb:,.0f} MB",
          flush=True)  # fmt: skip
    return m


def _fresh_start(target: str, outputs: dict[str, Any], converted: Path) -> Path:
    """Where the stage reads from, in the same state at every size: Kafka a copy with ids never sent before and
    no checkpoint, MongoDB an empty collection; DynamoDB and Firestore overwrite by key at the cost of a new one."""
    if target == "kafka":
        fresh = converted.with_name(f"{converted.name}-fresh-ids")
        fresh_ids_copy(converted, fresh)
        return fresh
    if target == "mongodb":
        import pymongo

        client: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(outputs["mongodb_uri"]) as client:
            client[outputs["mongodb_database"]].drop_collection(outputs["mongodb_collections"]["transactions"])
    return converted


def _drop_lake(outputs: dict[str, Any], prefix: str) -> None:
    from contract.clients import s3_client

    delete_prefix(s3_client(outputs), outputs["s3_buckets"]["landing"], prefix + "/")


def print_scaling(results: dict[int, list[Measurement]]) -> None:
    sizes = sorted(results)
    table = Table(title="how cost grows: demo path on generated transactions (each stage in its own process)")
    for col in ("rows", "stage", "seconds", "rows/s", "cost/row vs smallest", "peak RSS MB"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    first = {m.name: m.seconds / sizes[0] for m in results[sizes[0]]}
    for rows in sizes:
        for m in results[rows]:
            growth = f"{m.seconds / rows / first[m.name]:.2f}x" if m.name in first else "-"
            rss = "-" if m.peak_rss_mb is None else f"{m.peak_rss_mb:,.0f}"
            table.add_row(f"{rows:,}", m.name, f"{m.seconds:.2f}", f"{rows / m.seconds:,.0f}", growth, rss)
        table.add_section()
    show(table)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks scaling", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="20k and 200k transactions only")
    p.add_argument("--sizes", help="comma-separated transaction counts (default 20000,200000,2000000)")
    p.add_argument("--stages", help=f"comma-separated stages among {','.join(STAGES)} (default: all)")
    args, _ = p.parse_known_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(SIZES[:2] if args.quick else SIZES)
    stages = args.stages.split(",") if args.stages else list(STAGES)
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        p.error(f"unknown stage(s) {', '.join(unknown)}; choose among {', '.join(STAGES)}")
    # convert alone needs no server: devstack and the stack start only for a stage that loads or reads one
    outputs = platform_outputs(["moto", "ferretdb", "firestore"]) if set(stages) - {"convert"} else {}
    results: dict[int, list[Measurement]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        work = Path(tmp)
        outputs_path = work / "outputs.json"  # for the stage processes; holds emulator keys: 0600, deleted after
        outputs_path.touch(mode=0o600)
        outputs_path.write_text(json.dumps(outputs))
        os.chmod(outputs_path, 0o600)
        for rows in sizes:
            print(f"scaling: {rows:,} transactions through {', '.join(stages)} ...", flush=True)
            results[rows] = run_size(rows, stages, work, outputs, outputs_path)
    print_scaling(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
