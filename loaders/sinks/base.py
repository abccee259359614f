"""What every sink offers the load loop: write a batch, report per-record failures, count what it holds."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

Record = dict[str, Any]
T = TypeVar("T")


@dataclass
class BatchResult:
    written: int = 0
    skipped: int = 0  # already delivered before (checkpoint)
    failed: list[tuple[Record, str]] = field(default_factory=list)


class Sink(Protocol):
    target: str
    where: str  # e.g. "kde-db.kde-finance-cards-data on mongodb://…": shown in the summary

    def write(self, records: list[Record]) -> BatchResult: ...

    def finish(self) -> BatchResult:
        """Wait for what is in flight (Kafka deliveries); returns late results."""
        ...

    def count(self) -> int | None:
        """How many records the target holds now (None where it cannot tell cheaply)."""
        ...

    def close(self) -> None: ...


def with_retries(call: Callable[[], T], retryable: tuple[type[BaseException], ...], attempts: int = 5) -> T:
    """`call()`, retried with exponential backoff and jitter on the service's retryable errors."""
    delay = 0.2
    for attempt in range(attempts):
        try:
            return call()
        except retryable:
            if attempt == attempts - 1:
                raise
            time.sleep(delay + random.random() * delay)
            delay = min(delay * 2, 5.0)
    raise AssertionError("unreachable")
