"""Where the work stood the moment a kill landed, and how a Kafka run's progress is read: its checkpoint, the
distinct keys on its topic."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faults import tally


@dataclass(frozen=True)
class AtKill:
    """Where the work stood the moment the kill landed: whether the run was still going, what the target held (or
    the topic, or the lake) and, for Kafka, how many keys the run's checkpoint held."""

    running: bool
    held: int
    source: int
    checkpointed: int | None = None

    @property
    def inside(self) -> bool:
        """The kill landed strictly inside the work: the run was going, some records were written, not all."""
        return self.running and 0 < self.held < self.source

    def __str__(self) -> str:
        state = "killed mid-run" if self.running else "the run had ended"
        ckpt = "" if self.checkpointed is None else f", {self.checkpointed:,} keys checkpointed"
        return f"{state}: {self.held:,} of {self.source:,} written{ckpt}"


def checkpointed(folder: Path) -> int:
    """Records a Kafka run in `folder` has written to its checkpoint so far (its key lines: sent in a section
    the run commits once they are settled, or found on the topic)."""
    text = "".join(path.read_text(encoding="utf-8") for path in folder.rglob("*.delivered"))
    return sum(1 for line in text.splitlines() if line.strip() and not line.startswith("#"))


def distinct_on_topic(outputs: dict[str, Any], topic: str, since: dict[int, int]) -> int:
    return len(set(tally.kafka_keys(outputs, topic, since)))


def kafka_at_kill(running: bool, outputs: dict[str, Any], topic: str, since: dict[int, int], source: int,
                  folder: Path) -> AtKill:  # fmt: skip
    return AtKill(running, distinct_on_topic(outputs, topic, since), source, checkpointed(folder))
