"""CSV and JSON-map sources → typed JSON lines, per the dataset schemas (schemas/*.json).

Streaming in chunks of whole rows (cut here, parsed by pyarrow on all cores, cast by vectorised polars
expressions; the next chunk is parsed while this one is converted and written), so memory stays flat
whatever the file size. Every row ends up either in
`OUT/<dataset>.jsonl` or in `OUT/_rejected/<dataset>.jsonl` with file, line, field and reason:
read = written + rejected, always. File-level problems (missing file, empty file, a header
without the schema's columns) are errors that name the file; they never become a traceback.

Line numbers are the source file's own; within a chunk of the file, a row with quoted line breaks counts as
one line.
"""

from __future__ import annotations

import csv
import json
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import polars as pl

from schemas import DATASETS, DatasetSchema, Field
from schemas import load as load_schema

BLOCK_SIZE = 8 << 20
MAP_CHUNK = 8 << 20
_MAP_ENTRY = re.compile(rb'"((?:[^"\\]|\\.)*)"\s*:\s*"((?:[^"\\]|\\.)*)"')
_SEP = "\x00"


class ConvertError(RuntimeError):
    """A whole file cannot be converted; the message names the file and what to do."""


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


# --- sources ------------------------------------------------------------------------------------------------


def _decode(column: Any) -> tuple[pl.Series, list[bool]]:
    """A binary arrow column as strings; rows whose bytes are not UTF-8 become null and are flagged."""
    series = pl.Series(column)
    try:
        return series.cast(pl.String), []
    except pl.exceptions.ComputeError:
        values, invalid = [], []
        for raw in series.to_list():
            try:
                values.append(None if raw is None else raw.decode("utf-8"))
                invalid.append(False)
            except UnicodeDecodeError:
                values.append(None)
                invalid.append(True)
        return pl.Series(values, dtype=pl.String), invalid


def _header(path: Path) -> list[str]:
    with path.open("rb") as fh:
        first = fh.readline()
    if not first.strip():
        raise ConvertError(f"{path}: empty file (expected a CSV header line)")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConvertError(f"{path}: line 1 (header) is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    return next(csv.reader([text]))


#: A block of source rows as strings with a `_line` column, and the rows the reader itself had to reject.
Block = tuple[pl.DataFrame, list[dict[str, Any]]]


def csv_frames(path: Path, schema: DatasetSchema) -> Iterator[Block]:
    """Blocks of the CSV; ragged or undecodable rows come as rejects beside the frame.

    The file is cut into chunks of whole rows here (pyarrow's own streaming reader reads ahead without bound:
    its memory grew with the file). A chunk is parsed on all cores; only a chunk that holds a ragged row or
    bytes that are not UTF-8 is parsed again single-threaded, so that each such row gets its line number."""
    header = _header(path)
    missing = [n for n in schema.field_names if n not in header]
    if missing:
        raise ConvertError(
            f"{path}: line 1 (header) lacks the column(s) {', '.join(missing)} of schema {schema.dataset}; "
            f"found {', '.join(header[:20]) or 'nothing'}"
        )
    for first_line, chunk in _row_chunks(path):
        yield _parse_chunk(path, chunk, first_line, header, schema)


def _row_chunks(path: Path) -> Iterator[tuple[int, bytes]]:
    """(file line of its first row, bytes) of whole rows after the header, about BLOCK_SIZE at a time."""
    with path.open("rb") as fh:
        fh.readline()
        line, carry = 2, b""
        while data := fh.read(BLOCK_SIZE):
            buffer = carry + data
            cut = _last_row_end(buffer)
            if cut < 0:
                carry = buffer
                continue
            chunk, carry = buffer[: cut + 1], buffer[cut + 1 :]
            yield line, chunk
            line += chunk.count(b"\n")
        if carry.strip():
            yield line, carry


def _last_row_end(buffer: bytes) -> int:
    """Index of the last line break outside quotes (an even number of quote characters before it), or -1."""
    quotes = buffer.count(b'"')
    cut = buffer.rfind(b"\n")
    while cut >= 0 and (quotes - buffer.count(b'"', cut)) % 2:
        cut = buffer.rfind(b"\n", 0, cut)
    return cut


def _parse_chunk(path: Path, chunk: bytes, first_line: int, header: list[str], schema: DatasetSchema) -> Block:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    def read(column_type: Any, **options: Any) -> Any:
        return pacsv.read_csv(
            pa.py_buffer(chunk),
            read_options=pacsv.ReadOptions(column_names=header, use_threads=not options),
            parse_options=pacsv.ParseOptions(**options),
            convert_options=pacsv.ConvertOptions(
                column_types={n: column_type for n in header},
                include_columns=schema.field_names,
                strings_can_be_null=True,
            ),
        )

    try:
        table = read(pa.string())
        frame = pl.DataFrame(pl.from_arrow(table))
        lines = pl.int_range(first_line, first_line + frame.height, dtype=pl.Int64, eager=True)
        return frame.with_columns(lines.alias("_line")), []
    except pa.ArrowInvalid:
        pass  # a ragged row or undecodable bytes: parse again, row by row

    ragged: list[int] = []
    rejects: list[dict[str, Any]] = []

    def on_invalid(row: Any) -> str:
        number = first_line + row.number - 1
        ragged.append(number)
        rejects.append({"line": number, "field": None, "reason": f"ragged row: {row.actual_columns} columns, "
                        f"the header has {row.expected_columns}", "record": {"text": row.text}})  # fmt: skip
        return "skip"

    try:
        table = read(pa.binary(), invalid_row_handler=on_invalid)
    except pa.ArrowInvalid as exc:
        last = first_line + chunk.count(b"\n") - 1
        raise ConvertError(f"{path}: lines {first_line}-{last} cannot be parsed as CSV: {exc}") from None
    columns: dict[str, pl.Series] = {}
    bad_rows: set[int] = set()
    for name in schema.field_names:
        series, invalid = _decode(table.column(name))
        columns[name] = series
        bad_rows.update(i for i, flag in enumerate(invalid) if flag)
    frame = pl.DataFrame(columns).with_columns(
        pl.Series("_line", _lines(first_line, table.num_rows, ragged), dtype=pl.Int64)
    )
    if bad_rows:
        for i in sorted(bad_rows):
            names = [n for n in schema.field_names if columns[n][i] is None]
            rejects.append({"line": frame["_line"][i], "field": names[0] if names else None,
                            "reason": "not valid UTF-8 text", "record": None})  # fmt: skip
        frame = frame.filter(~pl.int_range(pl.len()).is_in(sorted(bad_rows)))
    return frame, rejects


def _lines(first: int, count: int, skipped: list[int]) -> list[int]:
    """The file lines of `count` rows read from line `first` on, stepping over the skipped (ragged) ones."""
    skip = {n for n in skipped if n >= first}
    if not skip:
        return list(range(first, first + count))
    lines: list[int] = []
    n = first
    while len(lines) < count:
        if n not in skip:
            lines.append(n)
        n += 1
    return lines


def map_frames(path: Path, schema: DatasetSchema) -> Iterator[Block]:
    """Entries of a JSON object file (`{"k": "v", …}`, or under `root`) as frames of the key and value fields,
    read in chunks: the fraud labels' 9M entries never sit in memory as one dict."""
    key_field, value_field = schema.source_options["key_field"], schema.source_options["value_field"]
    root = schema.source_options.get("root")
    if path.stat().st_size == 0:
        raise ConvertError(f"{path}: empty file (expected a JSON object)")
    entry = 1
    tail = b""
    with path.open("rb") as fh:
        head = fh.read(64).lstrip()
        if not head.startswith(b"{"):
            raise ConvertError(f"{path}: not a JSON object (starts with {head[:20]!r})")
        if root and f'"{root}"'.encode() not in head:
            raise ConvertError(f"{path}: expected the entries under the key {root!r}")
        fh.seek(0)
        while chunk := fh.read(MAP_CHUNK):
            data = tail + chunk
            cut = data.rfind(b",")
            body, tail = (data, b"") if cut < 0 else (data[: cut + 1], data[cut + 1 :])
            keys, values = _entries(body)
            if keys:
                yield pl.DataFrame({key_field: keys, value_field: values}).with_row_index("_line", offset=entry), []
                entry += len(keys)
        keys, values = _entries(tail)
        if keys:
            yield pl.DataFrame({key_field: keys, value_field: values}).with_row_index("_line", offset=entry), []


def _entries(body: bytes) -> tuple[list[str], list[str]]:
    """The string keys and values of `"k": "v"` pairs; JSON escapes are decoded only where there are any."""
    pairs = _MAP_ENTRY.findall(body)
    if b"\\" in body:
        decode: Callable[[bytes], str] = lambda raw: json.loads(b'"' + raw + b'"')  # noqa: E731
    else:
        decode = bytes.decode
    return [decode(k) for k, _ in pairs], [decode(v) for _, v in pairs]


# --- the run -------------------------------------------------------------------------------------------------


def _read_ahead(blocks: Iterator[Block], depth: int = 2) -> Iterator[Block]:
    """`blocks`, produced by a background thread: parsing the next block (pyarrow and polars release the GIL)
    overlaps converting and writing this one. At most `depth` blocks wait, so memory stays bounded."""
    done = object()
    waiting: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for block in blocks:
                if not put(block):
                    return
            put(done)
        except BaseException as exc:  # re-raised in the consumer
            put(exc)

    worker = threading.Thread(target=produce, name="convert-reader", daemon=True)
    worker.start()
    try:
        while (item := waiting.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


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


def convert_dataset(
    source_dir: Path, out_dir: Path, dataset: str, progress: Callable[[int], None] | None = None
) -> DatasetReport:
    schema = load_schema(dataset)
    source = source_dir / schema.source_file
    report = DatasetReport(dataset, str(source))
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
        blocks = csv_frames(source, schema) if schema.source_format == "csv" else map_frames(source, schema)
        with partial.open("wb") as out:
            for frame, unreadable in _read_ahead(blocks):
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
                if progress:
                    progress(frame.height + len(unreadable))
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
