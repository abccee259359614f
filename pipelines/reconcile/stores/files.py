"""The source: the converter's typed JSON lines and its quarantine (`<dir>/_rejected/<dataset>.jsonl`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.reconcile.stores import StoreError


class SourceFile:
    stage = "source"
    complete = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self.coverage: dict[str, Any] = {}

    def records(self) -> Iterator[dict[str, Any]]:
        try:
            handle = self.path.open(encoding="utf-8")
        except OSError as exc:
            raise StoreError(f"{self.path}: {exc.strerror}") from None
        with handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise StoreError(f"{self.path}, line {number}: not JSON ({exc.msg})") from None
        self.coverage = {"file": str(self.path)}


def source_path(source_dir: Path, dataset: str) -> Path:
    return source_dir / f"{dataset}.jsonl"


def rejected_count(source_dir: Path, dataset: str) -> int:
    """Rows the converter quarantined for `dataset` (one JSON line each), 0 when it quarantined none."""
    path = source_dir / "_rejected" / f"{dataset}.jsonl"
    if not path.exists():
        return 0
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())
