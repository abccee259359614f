"""Silver and gold benchmark: the dbt build (pipelines.transform.run.build, models and tests) over the lake's
landing parquet, against DuckDB alone running the same statements, in the same run.

The baseline is what dbt compiled, without dbt: each model's SQL as `create or replace table`, in dependency
order, then each test's SQL counted, on a DuckDB file of the same name reading the same lake through the same
s3fs. Ours / baseline is what dbt's parsing, graph, materialisation and bookkeeping cost on top of the queries.
Each run starts from an empty warehouse file, in a process of its own (its wall time and peak RSS); a warm-up
round first, then --repeats rounds in rotated order; medians with min-max. The time per layer (silver and gold,
models and tests) is dbt's own timing of each node, medians over the rounds.

The lake: the generator's five files at N transactions (loaders.generate), typed by the converter and laid out
as dlt lands them (one parquet file per table) in the benchmark platform's landing bucket under a prefix of its
own, deleted at the end. No MongoDB or dlt run: this measures the transformation alone.

`python -m benchmarks transform [--rows N[,N...]] [--repeats 3] [--quick]` (default 20000; --quick: one round).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks._common import Trials, compare, delete_prefix, measure, trials_table
from benchmarks._results import say

SERVICES = ("moto",)
OURS = "dbt build (ours)"
ALONE = "DuckDB alone, the same SQL"
LOAD_ID = "1765100000.123456"  # one load: every key has one version, as after a first batch


# --- the lake ------------------------------------------------------------------------------------------------
def land(outputs: dict[str, Any], rows: int, work: Path, prefix: str) -> None:
    """The generator's files, typed, as dlt's parquet under `prefix` in the landing bucket."""
    import polars as pl

    from contract.clients import s3_client
    from contract.lake_layout import DATASET_NAME
    from loaders.convert import convert_dir
    from loaders.generate import generate_dataset
    from schemas import DATASETS

    generate_dataset(work / "raw", rows)
    report = convert_dir(work / "raw", work / "typed")
    s3 = s3_client(outputs)
    for dataset in DATASETS:
        entry = report.datasets[dataset]
        if entry.error:
            raise RuntimeError(f"transform benchmark: converting {dataset}: {entry.error}")
        parquet = work / f"{dataset}.parquet"
        pl.read_ndjson(work / "typed" / f"{dataset}.jsonl", infer_schema_length=None).write_parquet(parquet)
        key = f"{prefix}/{DATASET_NAME}/{dataset}/{LOAD_ID}.{uuid.uuid4().hex[:6]}.parquet"
        s3.upload_file(str(parquet), outputs["s3_buckets"]["landing"], key)


def _target(outputs: dict[str, Any], prefix: str) -> Any:
    from contract.lake_layout import landing_target

    return landing_target(outputs, prefix=prefix)


def _outputs_with_warehouse(outputs_path: str, database: str) -> dict[str, Any]:
    outputs: dict[str, Any] = json.loads(Path(outputs_path).read_text())
    Path(database).unlink(missing_ok=True)  # every run builds from an empty warehouse
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    return {**outputs, "warehouse": {**outputs["warehouse"], "path": database}}


# --- the contenders (each in a process of its own) -------------------------------------------------------------
def ours(outputs_path: str, prefix: str, database: str, work: str) -> None:
    """The project's build; its per-layer node times into <work>/layers.json."""
    from pipelines.transform.run import build

    outputs = _outputs_with_warehouse(outputs_path, database)
    result = build(outputs, target=_target(outputs, prefix), work_dir=Path(work), docs=False)
    if not result.ok:
        raise RuntimeError("dbt build failed: " + "; ".join(result.lines()[:3]))
    (Path(work) / "layers.json").write_text(json.dumps(result.seconds_by_layer()))


def alone(outputs_path: str, prefix: str, database: str, manifest: str) -> None:
    """The SQL dbt compiled (its manifest from a run of ours), run by DuckDB on the same lake and file name."""
    import duckdb
    import s3fs

    outputs = _outputs_with_warehouse(outputs_path, database)
    lake = _target(outputs, prefix)
    con = duckdb.connect(database)
    fs = s3fs.S3FileSystem(key=lake.access_key_id, secret=lake.secret_access_key, endpoint_url=lake.endpoint_url,
                           skip_instance_cache=True, use_listings_cache=False)  # fmt: skip
    con.register_filesystem(fs)
    models, tests = compiled_nodes(json.loads(Path(manifest).read_text()))
    for schema in sorted({node["schema"] for node in models}):
        con.execute(f'create schema if not exists "{schema}"')
    for node in models:
        con.execute(f'create or replace table "{node["schema"]}"."{node["alias"]}" as ({node["compiled_code"]})')
    for node in tests:
        failures = con.execute(f"select count(*) from ({node['compiled_code']})").fetchone()
        if failures and failures[0]:
            raise RuntimeError(f"DuckDB alone: test {node['name']} found {failures[0]} failing row(s)")
    con.close()


def compiled_nodes(manifest: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The project's models in dependency order, and its tests."""
    nodes = manifest["nodes"]
    models = {uid: n for uid, n in nodes.items() if n["resource_type"] == "model"}
    ordered: list[dict[str, Any]] = []
    done: set[str] = set()

    def visit(uid: str) -> None:
        if uid in done or uid not in models:
            return
        done.add(uid)
        for parent in models[uid]["depends_on"]["nodes"]:
            visit(parent)
        ordered.append(models[uid])

    for uid in sorted(models):
        visit(uid)
    tests = [n for n in nodes.values() if n["resource_type"] == "test"]
    missing = [n["name"] for n in [*ordered, *tests] if not n.get("compiled_code")]
    if missing:
        raise RuntimeError(f"the manifest has no compiled SQL for {', '.join(missing[:3])}: was it written by a build?")
    return ordered, tests


# --- one size ------------------------------------------------------------------------------------------------
def bench_size(outputs: dict[str, Any], rows: int, repeats: int) -> tuple[dict[str, Trials], dict[str, float]]:
    from contract.clients import s3_client

    prefix = f"bench/transform-{uuid.uuid4().hex[:8]}"
    work = Path(tempfile.mkdtemp(prefix="bench-transform-"))
    bucket = outputs["s3_buckets"]["landing"]
    try:
        say(f"transform: {rows:,} transactions generated, typed and landed as parquet ...")
        land(outputs, rows, work, prefix)
        outputs_path = work / "outputs.json"
        outputs_path.write_text(json.dumps(outputs))
        dbt_work = work / "dbt"
        layers: list[dict[str, float]] = []

        def run_ours() -> Any:
            m = measure(OURS, "benchmarks.transform", "ours", str(outputs_path), prefix,
                        str(work / "ours" / "finance.duckdb"), str(dbt_work))  # fmt: skip
            layers.append(json.loads((dbt_work / "layers.json").read_text()))
            return m

        def run_alone() -> Any:
            manifest = dbt_work / "target" / "manifest.json"
            return measure(ALONE, "benchmarks.transform", "alone", str(outputs_path), prefix,
                           str(work / "alone" / "finance.duckdb"), str(manifest))  # fmt: skip

        # ours first in the warm-up: its build writes the manifest the baseline runs
        trials = compare({OURS: run_ours, ALONE: run_alone}, repeats)
        timed = layers[1:] or layers  # the warm-up's are not medians' material
        medians = {key: statistics.median(run.get(key, 0.0) for run in timed) for key in timed[0]}
        return trials, medians
    finally:
        delete_prefix(s3_client(outputs), bucket, prefix + "/")
        shutil.rmtree(work, ignore_errors=True)


def print_size(trials: dict[str, Trials], layers: dict[str, float], rows: int) -> None:
    trials_table(f"transform: silver and gold, {rows:,} transactions (same lake, same run)", trials, ALONE, rows)
    ratio = trials[ALONE].median / trials[OURS].median
    say(f"dbt build = {ratio:.2f}x DuckDB alone running the same SQL (the rest is dbt's own work)")
    per_layer = ", ".join(f"{key} {seconds:.2f} s" for key, seconds in sorted(layers.items()))
    say(f"time per layer (dbt's node timings, medians): {per_layer}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks transform", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="20000", help="transactions, comma-separated sizes (default 20000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds after the warm-up (default 3)")
    parser.add_argument("--quick", action="store_true", help="one timed round")
    args, _ = parser.parse_known_args(argv)

    from benchmarks._common import platform_outputs

    started = time.monotonic()
    outputs = platform_outputs(list(SERVICES))
    for rows in (int(size) for size in args.rows.split(",")):
        trials, layers = bench_size(outputs, rows, 1 if args.quick else args.repeats)
        print_size(trials, layers, rows)
    print(f"transform benchmark: {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
