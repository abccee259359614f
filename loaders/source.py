"""Reading a dataset's converted JSON lines: the one reader of every load (batch blocks, or line by line for a
stream), and the JSON parser both use."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from loaders.sinks.base import LoadError
from loaders.validate import AcceptedBlock, RecordValidator

#: bytes of source lines checked at once for a sink that sends JSON as it is (about 5,000 transactions)
BLOCK_BYTES = 1 << 20


def source_file(source_dir: Path, dataset: str) -> Path:
    path = source_dir / f"{dataset}.jsonl"
    if not path.exists():
        raise LoadError(f"{path}: no such file; convert first: python -m loaders convert SOURCE_DIR {source_dir}")
    return path


def count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def read_lines(path: Path, rows: int | None) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if rows is not None and number > rows:
                return
            if line.strip():
                yield number, line


def read_byte_lines(path: Path, rows: int | None) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if rows is not None and number > rows:
                return
            if line.strip():
                yield number, line


def parse_line(line: bytes) -> Any:
    """The JSON value of a source line: msgspec (faster than the standard library, integers of any size exact), and
    the standard library where msgspec refuses, so what is accepted (NaN, 1E400, lone surrogates, bytes that
    are not UTF-8 replaced by U+FFFD) and the JSONDecodeError naming the column stay the standard library's."""
    try:
        return _DECODER.decode(line)
    except msgspec.MsgspecError:
        return json.loads(line.decode("utf-8", errors="replace"))


_DECODER = msgspec.json.Decoder()


def source_lines(path: Path, rows: int | None, validator: RecordValidator, keys: set[str | None]) -> dict[str, int]:
    """The source line of each record named by key: for failures a sink reports after their batch has gone."""
    found: dict[str, int] = {}
    for number, text in read_lines(path, rows):
        try:
            key = validator.key_of(json.loads(text))
        except json.JSONDecodeError:
            continue
        if key in keys and key is not None:
            found.setdefault(key, number)
    return found


def line_blocks(path: Path, size: int = BLOCK_BYTES) -> Iterator[bytes]:
    """The file in blocks of whole lines of about `size` bytes (the last may lack its line break)."""
    carry = b""
    with path.open("rb") as fh:
        while data := fh.read(size):
            block = carry + data
            cut = block.rfind(b"\n") + 1
            if cut:  # else a line longer than the block: read on
                yield block[:cut]
                carry = block[cut:]
            else:
                carry = block
    if carry:
        yield carry


def checked_blocks(
    path: Path, rows: int | None, check: Callable[[bytes, int, int], AcceptedBlock]
) -> Iterator[AcceptedBlock]:
    """The first `rows` lines of the file (all: None) in blocks, as `check(block, first line, limit)` finds them
    (the validator's `accepted_block` or `accepted_documents`)."""
    number = 1
    for block in line_blocks(path):
        if rows is not None and number > rows:
            return
        limit = len(block) if rows is None else rows - number + 1
        checked = check(block, number, limit)
        yield checked
        number += checked[3]
