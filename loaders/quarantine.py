"""The one quarantine writer: a rejected or undelivered record as one JSON object per line, with its file, line,
key, field and reason, and the record as read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any


class Quarantine:
    """A run's quarantine file: emptied when the run starts, written only when a record is rejected."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh: IO[str] | None = None
        path.unlink(missing_ok=True)

    def add(
        self, source: Path, line: int | None, reason: str, record: Any, key: str | None = None, field: str | None = None
    ) -> None:
        if self.fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = self.path.open("w", encoding="utf-8")
        entry = {"file": str(source), "line": line, "key": key, "field": field, "reason": reason, "record": record}
        self.fh.write(json.dumps(entry, default=str) + "\n")

    def close(self) -> None:
        if self.fh:
            self.fh.close()
            self.fh = None
