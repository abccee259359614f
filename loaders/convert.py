"""CSV and JSON-map sources → typed JSON lines, per the dataset schemas (schemas/*.json).

Streaming in chunks of whole rows (loaders/sources.py cuts them), so memory stays flat whatever the file size.
A CSV chunk goes through the compiled pass (loaders/kernel: one pass over the bytes, in as many threads as
there are cores), which converts every row it is sure of and leaves the others (a value that does not parse,
padding, a ragged row, bytes that are not UTF-8, a quoted line break) to the polars path: pyarrow's parse and
vectorised polars expressions, which decide and word the reason. Without the kernel (KDE_CONVERT_ENGINE=polars)
every row takes the polars path; both give the same rows, value for value (tests/loaders/test_convert_kernel.py).
Within a chunk, the rows the polars path accepted follow the kernel's.

Every row ends up either in `OUT/<dataset>.jsonl` or in `OUT/_rejected/<dataset>.jsonl` with file, line, field
and reason: read = written + rejected, always. File-level problems (missing file, empty file, a header without
the schema's columns) are errors that name the file; they never become a traceback. Line numbers are the source
file's own (on the polars path, within a chunk, a row with quoted line breaks counts as one line).
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from loaders.background import in_order, read_ahead
from loaders.sources import (
    NULL_VALUES,
    Block,
    ConvertError,
    checked_header,
    map_frames,
    parse_chunk,
    row_chunks,
    rows_block,
)
from schemas import DATASETS, DatasetSchema, Field
from schemas import load as load_schema

if TYPE_CHECKING:  # polars loads in 0.35 s: only the rows the kernel leaves need it
    import polars as pl
    from typing_extensions import Buffer

__all__ = ["ConvertError", "ConvertReport", "DatasetReport", "convert_dataset", "convert_dir", "convert_frame"]

_SEP = "\x00"


@dataclass
class DatasetReport:
    dataset: str
    source: str
    read: int = 0
    written: int = 0
    rejected: int = 0
    seconds: float = 0.0
    error: str | None = None
    output: str | None = None
    rejected_file: str | None = None
    engine: str = "kernel"


@dataclass
class ConvertReport:
    datasets: dict[str, DatasetReport] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.error is None and r.rejected == 0 for r in self.datasets.values())

    @property
    def failed(self) -> bool:
        return any(r.error is not None for r in self.datasets.values())


# --- parsing: one polars expression per field -------------------------------------------------------------


def _parsed(raw: pl.Expr, f: Field) -> pl.Expr:
    """The typed value of `raw` (a stripped, non-empty string), or null when it does not parse."""
    import polars as pl

    if f.parse == "int":
        return raw.cast(pl.Int64, strict=False)
    if f.parse == "float":
        return raw.cast(pl.Float64, strict=False)
    if f.parse == "money":
        return raw.str.strip_prefix("$").str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False)
    if f.parse == "yes_no":
        upper = raw.str.to_uppercase()
        return (
            pl.when(upper.is_in(["YES", "Y", "TRUE"]))
            .then(pl.lit(True))
            .when(upper.is_in(["NO", "N", "FALSE"]))
            .then(pl.lit(False))
            .otherwise(pl.lit(None, dtype=pl.Boolean))
        )
    if f.parse == "month_year":
        parts = raw.str.extract_groups(r"^(\d{1,2})/(\d{4})$")
        month = parts.struct.field("1").cast(pl.Int32, strict=False)
        return pl.when(month.is_between(1, 12)).then(
            pl.concat_str(parts.struct.field("2"), pl.lit("-"), parts.struct.field("1").str.zfill(2))
        )
    if f.parse == "datetime":
        # only the canonical 19-character form passes, so swapping the separator yields ISO 8601 as is
        parsed = raw.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)
        return pl.when(parsed.is_not_null() & (raw.str.len_bytes() == 19)).then(raw.str.replace(" ", "T", literal=True))
    if f.parse == "zip":
        digits = raw.str.strip_suffix(".0")  # the Kaggle CSV writes zips as floats: 2801.0 is 02801
        return pl.when(digits.str.contains(r"^\d{1,5}$")).then(digits.str.zfill(5))
    if f.parse == "string":
        return raw
    raise ValueError(f"field {f.name}: unknown x-parse {f.parse!r}")


def _checks(raw: pl.Expr, value: pl.Expr, f: Field, spec: dict[str, Any]) -> list[tuple[pl.Expr, pl.Expr]]:
    """(condition, message) per rule of this field, in the order they are reported."""
    import polars as pl

    missing = raw.is_null()
    checks: list[tuple[pl.Expr, pl.Expr]] = []
    if not f.nullable:
        checks.append((missing, pl.lit(f"{f.name}{_SEP}missing value (the schema requires one)")))
    checks.append((~missing & value.is_null(), pl.format(f"{f.name}{_SEP}cannot read {{}} as {f.parse}", raw)))
    if "minimum" in spec:
        checks.append(
            (value < spec["minimum"], pl.format(f"{f.name}{_SEP}{{}} is below the minimum {spec['minimum']}", value))
        )
    if "maximum" in spec:
        checks.append(
            (value > spec["maximum"], pl.format(f"{f.name}{_SEP}{{}} is above the maximum {spec['maximum']}", value))
        )
    return [(cond.fill_null(False), message) for cond, message in checks]


def convert_frame(frame: pl.DataFrame, schema: DatasetSchema) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(typed rows, rejected rows with `_error`) of a frame of raw strings holding the schema's columns.

    In stages, each reading the columns the one before materialised (nothing is parsed twice), and every row is
    only tested (a boolean per rule): the messages are built for the rejected few."""
    import polars as pl

    props = schema.raw["properties"]
    names = schema.field_names
    raw = {n: f"_raw_{n}" for n in names}
    typed = {n: f"_v_{n}" for n in names}
    staged = frame.with_columns(pl.col(n).str.strip_chars().replace("", None).alias(raw[n]) for n in names)
    staged = staged.with_columns(_parsed(pl.col(raw[f.name]), f).alias(typed[f.name]) for f in schema.fields)
    checks = [
        check for f in schema.fields for check in _checks(pl.col(raw[f.name]), pl.col(typed[f.name]), f, props[f.name])
    ]
    staged = staged.with_columns(pl.any_horizontal(cond for cond, _ in checks).alias("_rejected"))
    good = staged.filter(~pl.col("_rejected")).select(pl.col(typed[n]).alias(n) for n in names)
    first_error = pl.lit(None, dtype=pl.String)
    for cond, message in reversed(checks):
        first_error = pl.when(cond).then(message).otherwise(first_error)
    bad = staged.filter(pl.col("_rejected")).select(*names, "_line", first_error.alias("_error"))
    return good, bad


# --- the run -------------------------------------------------------------------------------------------------


class _Rejects:
    def __init__(self, path: Path, source: Path) -> None:
        self.path, self.source = path, source
        self.count = 0
        self._fh: IO[str] | None = None

    def add(self, item: dict[str, Any]) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8")
        self._fh.write(json.dumps({"file": str(self.source), **item}, default=str) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._fh:
            self._fh.close()


#: (JSON lines the compiled pass converted, how many, a block of the rows it left to the polars path or None)
Piece = tuple["Buffer", int, Block | None]


def _pieces(source: Path, schema: DatasetSchema, engine: str) -> Iterator[Piece]:
    if schema.source_format != "csv":
        return ((b"", 0, block) for block in read_ahead(map_frames(source, schema), name="convert-reader"))
    header = checked_header(source, schema)
    if engine == "polars":
        return in_order(lambda item: (b"", 0, parse_chunk(source, item[1], item[0], header, schema)),
                         row_chunks(source), workers=1)  # fmt: skip
    kernel = compiled_kernel(header, schema)

    def convert(item: tuple[int, bytes]) -> Piece:
        ready, count, rest = kernel.convert(item[1], item[0])
        return ready, count, rows_block(source, rest, header, schema) if rest else None

    return in_order(convert, row_chunks(source), workers=max(2, min(os.cpu_count() or 2, 4)))


def compiled_kernel(header: list[str], schema: DatasetSchema) -> Any:
    """The compiled pass (loaders/kernel, built by `make setup`) for this header and schema."""
    try:
        from kde_convert_kernel import Kernel
    except ImportError:
        raise RuntimeError(
            "the converter's compiled pass (loaders/kernel) is not built: run `make setup`, "
            "or convert with KDE_CONVERT_ENGINE=polars"
        ) from None

    props = schema.raw["properties"]
    fields = [
        (header.index(f.name), f.parse, f.nullable, props[f.name].get("minimum"), props[f.name].get("maximum"),
         ("{" if i == 0 else ",").encode() + json.dumps(f.name).encode() + b":")
        for i, f in enumerate(schema.fields)
    ]  # fmt: skip
    return Kernel(len(header), fields, [v.encode() for v in NULL_VALUES])


def default_engine() -> str:
    """ "kernel" where loaders/kernel is built (`make setup` builds it), else the polars path; KDE_CONVERT_ENGINE
    chooses."""
    chosen = os.environ.get("KDE_CONVERT_ENGINE")
    if chosen:
        return chosen
    return "kernel" if importlib.util.find_spec("kde_convert_kernel") else "polars"


def convert_dataset(
    source_dir: Path,
    out_dir: Path,
    dataset: str,
    progress: Callable[[int], None] | None = None,
    engine: str | None = None,
) -> DatasetReport:
    """`engine`: "kernel" (the compiled pass, rows it is unsure of through polars) or "polars" (every row)."""
    schema = load_schema(dataset)
    source = source_dir / schema.source_file
    report = DatasetReport(dataset, str(source), engine=engine or default_engine())
    started = time.monotonic()
    if not source.exists():
        raise ConvertError(f"{source}: no such file (dataset {dataset}); `python -m loaders generate` writes one")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{dataset}.jsonl"
    rejected_path = out_dir / "_rejected" / f"{dataset}.jsonl"
    rejected_path.unlink(missing_ok=True)
    rejects = _Rejects(rejected_path, source)
    partial = target.with_suffix(".jsonl.partial")
    try:
        with partial.open("wb") as out:
            for ready, count, block in _pieces(source, schema, report.engine):
                out.write(ready)
                report.written += count
                rows = count + (_convert_block(block, schema, out, rejects, report) if block else 0)
                if progress:
                    progress(rows)
        os.replace(partial, target)
    finally:
        rejects.close()
        partial.unlink(missing_ok=True)
    report.rejected = rejects.count
    report.read = report.written + report.rejected
    report.seconds = time.monotonic() - started
    report.output = str(target)
    report.rejected_file = str(rejected_path) if rejects.count else None
    return report


def _convert_block(
    block: Block, schema: DatasetSchema, out: IO[bytes], rejects: _Rejects, report: DatasetReport
) -> int:
    """Convert a block through polars: typed rows to `out`, the others quarantined; returns the rows read."""
    frame, unreadable = block
    for item in unreadable:
        rejects.add(item)
    good, bad = convert_frame(frame, schema)
    if good.height:
        good.write_ndjson(out)
    report.written += good.height
    for row in bad.iter_rows(named=True):
        field_name, reason = row.pop("_error").split(_SEP, 1)
        line = row.pop("_line")
        rejects.add({"line": line, "field": field_name, "reason": reason, "record": row})
    return frame.height + len(unreadable)


def convert_dir(
    source_dir: Path,
    out_dir: Path,
    datasets: list[str] | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> ConvertReport:
    """Convert each dataset's source file in `source_dir`; a file-level error is reported, the others go on."""
    report = ConvertReport()
    for dataset in datasets or list(DATASETS):
        try:
            tick = (lambda n, d=dataset: progress(d, n)) if progress else None
            report.datasets[dataset] = convert_dataset(source_dir, out_dir, dataset, tick)
        except ConvertError as exc:
            source = source_dir / load_schema(dataset).source_file
            report.datasets[dataset] = DatasetReport(dataset, str(source), error=str(exc))
    return report
