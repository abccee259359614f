"""The converter's readers: source files cut into blocks of raw string rows, every row kept or rejected.

CSV files are cut here into chunks of whole rows (never inside quotes), so memory stays flat whatever the file
size; a chunk is parsed by pyarrow on all cores, and only a chunk holding a ragged row or bytes that are not
UTF-8 is parsed again row by row, so that each such row gets its line number. JSON-map files (`{"k": "v", …}`)
are read in chunks of entries. File-level problems raise ConvertError naming the file.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas import DatasetSchema

if TYPE_CHECKING:  # polars loads in 0.35 s: only the rows the kernel leaves need it
    import polars as pl

BLOCK_SIZE = 8 << 20
MAP_CHUNK = 8 << 20
#: the strings pyarrow's CSV reader takes for null by default (tests/loaders/test_convert_kernel.py checks that
#: they still are): written out so that the compiled pass needs no pyarrow import (0.27 s)
NULL_VALUES = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "N/A",
               "NA", "NULL", "NaN", "n/a", "nan", "null")  # fmt: skip
_MAP_ENTRY = re.compile(rb'"((?:[^"\\]|\\.)*)"\s*:\s*"((?:[^"\\]|\\.)*)"')


class ConvertError(RuntimeError):
    """A whole file cannot be converted; the message names the file and what to do."""


# --- CSV ------------------------------------------------------------------------------------------------


def _decode(column: Any) -> tuple[pl.Series, list[bool]]:
    """A binary arrow column as strings; rows whose bytes are not UTF-8 become null and are flagged."""
    import polars as pl

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


def read_header(path: Path) -> list[str]:
    with path.open("rb") as fh:
        first = fh.readline()
    if not first.strip():
        raise ConvertError(f"{path}: empty file (expected a CSV header line)")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConvertError(f"{path}: line 1 (header) is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    return next(csv.reader([text]))


def checked_header(path: Path, schema: DatasetSchema) -> list[str]:
    """The CSV's header, which must hold every column of the schema."""
    header = read_header(path)
    missing = [n for n in schema.field_names if n not in header]
    if missing:
        raise ConvertError(
            f"{path}: line 1 (header) lacks the column(s) {', '.join(missing)} of schema {schema.dataset}; "
            f"found {', '.join(header[:20]) or 'nothing'}"
        )
    return header


#: A block of source rows as strings with a `_line` column, and the rows the reader itself had to reject.
Block = tuple["pl.DataFrame", list[dict[str, Any]]]


def row_chunks(path: Path) -> Iterator[tuple[int, bytes]]:
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
    cut = buffer.rfind(b"\n")
    if b'"' not in buffer:  # the common case, found at memchr's speed: counting quotes costs a full count
        return cut
    quotes = buffer.count(b'"')
    while cut >= 0 and (quotes - buffer.count(b'"', cut)) % 2:
        cut = buffer.rfind(b"\n", 0, cut)
    return cut


def parse_chunk(
    path: Path, chunk: bytes, first_line: int, header: list[str], schema: DatasetSchema, where: str | None = None
) -> Block:
    import polars as pl
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
    except pa.ArrowInvalid:  # a ragged row that is not UTF-8 either: pyarrow cannot hand it to on_invalid
        return _python_rows(path, chunk, first_line, header, schema, where)
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


def _python_rows(
    path: Path, chunk: bytes, first_line: int, header: list[str], schema: DatasetSchema, where: str | None
) -> Block:
    """The last resort for a chunk pyarrow cannot read even row by row: Python's csv module, on the bytes taken
    as latin-1 so that none is lost, with pyarrow's null values and its numbering (a row is a line)."""
    import polars as pl

    nulls = set(NULL_VALUES)
    positions = [header.index(n) for n in schema.field_names]
    columns: dict[str, list[str | None]] = {n: [] for n in schema.field_names}
    lines: list[int] = []
    rejects: list[dict[str, Any]] = []
    line = first_line
    try:
        for raw, record in _raw_records(chunk.decode("latin-1")):
            values = [_utf8(record[i]) for i in positions] if len(record) == len(header) else None
            if values is None:
                text = raw.encode("latin-1").decode("utf-8", "backslashreplace")
                rejects.append({"line": line, "field": None, "reason": f"ragged row: {len(record)} columns, "
                                f"the header has {len(header)}", "record": {"text": text}})  # fmt: skip
            elif _NOT_UTF8 in values:
                first = next(n for n, v in zip(schema.field_names, values, strict=True) if v is _NOT_UTF8 or v in nulls)
                rejects.append({"line": line, "field": first, "reason": "not valid UTF-8 text", "record": None})
            else:
                for name, value in zip(schema.field_names, values, strict=True):
                    columns[name].append(None if value in nulls else value)
                lines.append(line)
            line += 1
    except csv.Error as exc:
        last = first_line + chunk.count(b"\n") - 1
        raise ConvertError(f"{path}: {where or f'lines {first_line}-{last}'} cannot be parsed as CSV: {exc}") from None
    frame = pl.DataFrame({**columns, "_line": lines}, schema={**dict.fromkeys(columns, pl.String), "_line": pl.Int64})
    return frame, rejects


def _raw_records(text: str) -> Iterator[tuple[str, list[str]]]:
    """(the row's own text without its line ending, its fields) per non-empty row: csv.reader pulls the lines it
    needs for one row, so the lines pulled since the last row are that row."""
    pulled: list[str] = []

    def lines() -> Iterator[str]:
        for line in text.split("\n"):
            pulled.append(line)
            yield line + "\n"

    for record in csv.reader(lines()):
        raw = "\n".join(pulled).removesuffix("\r")
        pulled.clear()
        if record:
            yield raw, record


_NOT_UTF8 = object()


def _utf8(latin1: str) -> Any:
    try:
        return latin1.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return _NOT_UTF8


def rows_block(path: Path, rows: list[tuple[int, bytes]], header: list[str], schema: DatasetSchema) -> Block:
    """A block of scattered rows, each given with its file line (the rows the compiled pass left to this path).

    The one-line rows are parsed together, a row holding line breaks on its own from its line on: pyarrow
    numbers rows, not lines, so only then does each row keep its file line."""
    import polars as pl

    single = [(line, row) for line, row in rows if row.count(b"\n") <= 1]
    frames, rejects = [], []
    if single:
        frame, found = _single_line_rows(path, single, header, schema)
        frames.append(frame)
        rejects.extend(found)
    for line, row in rows:
        if row.count(b"\n") > 1:
            frame, found = parse_chunk(path, row, line, header, schema)
            frames.append(frame)
            rejects.extend(found)
    return pl.concat(frames, how="vertical"), rejects


def _single_line_rows(path: Path, rows: list[tuple[int, bytes]], header: list[str], schema: DatasetSchema) -> Block:
    import polars as pl

    lines = [line for line, _ in rows]
    data = b"".join(row if row.endswith(b"\n") else row + b"\n" for _, row in rows)
    frame, rejects = parse_chunk(path, data, 1, header, schema, where=f"the rows of lines {lines[0]}-{lines[-1]}")
    if frame.height + len(rejects) != len(rows):
        raise ConvertError(f"{path}: lines {lines[0]}-{lines[-1]}: {len(rows)} rows read as "
                           f"{frame.height + len(rejects)}; convert with KDE_CONVERT_ENGINE=polars")  # fmt: skip
    for reject in rejects:
        reject["line"] = lines[reject["line"] - 1]
    real = pl.Series("_line", lines, dtype=pl.Int64)
    return frame.with_columns(real.gather(frame["_line"] - 1)), rejects


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
    import polars as pl

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
