"""The load's progress bar (rich), with the records' rate; nothing at all when progress is off."""

from __future__ import annotations

import time
from typing import Any


class Bar:
    def __init__(self, enabled: bool, label: str, total: int) -> None:
        self.progress: Any = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("[cyan]{task.fields[rate]}"),
                TimeRemainingColumn(),
                transient=False,
            )
            self.task = self.progress.add_task(label, total=total, rate="")
            self.started = time.monotonic()
            self.done = 0
            self.progress.start()

    def advance(self, n: int) -> None:
        if self.progress is not None:
            self.done += n
            rate = self.done / max(time.monotonic() - self.started, 1e-6)
            self.progress.update(self.task, advance=n, rate=f"{rate:,.0f} rec/s")

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
