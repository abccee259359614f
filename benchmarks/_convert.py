"""The convert part of `python -m benchmarks loaders`: our typed, validated converter vs the seed's untyped
polars, pandas and pyarrow's raw CSV parse, each contender in a process of its own (`measure` imports it from
here by name) for its own peak RSS."""

from __future__ import annotations

import shutil
import tempfile
from functools import partial
from pathlib import Path

from benchmarks._common import Contender, Trials, compare, measure, ratio_of, trials_table
from benchmarks._results import say


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
    mod = "benchmarks._convert"
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
