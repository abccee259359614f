"""What a fault trial is and where it works: the dataset every load case moves, one trial's outcome, and the
workspace (the converted source, the outputs file the CLIs read, a folder per trial)."""

from __future__ import annotations

import random
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.process import write_private
from faults.at_kill import AtKill
from faults.tally import Tally

#: the dataset every load case moves: the largest, and every sink has a target for it
DATASET = "transactions"


@dataclass(frozen=True)
class Trial:
    case: str
    trial: int
    tally: Tally
    note: str
    failure: str = ""  # what went wrong besides the counts (an exit status, an error that was not one line)
    at_kill: AtKill | None = None  # cases that kill something mid-run: where the run stood at the kill

    @property
    def ok(self) -> bool:
        return self.tally.exact and not self.failure


@dataclass
class Workspace:
    """The converted source, the outputs file the CLIs read, and a folder per trial."""

    root: Path
    source: Path  # converted JSON lines, <dataset>.jsonl
    outputs: dict[str, Any]
    rng: random.Random
    timings: dict[str, float] = field(default_factory=dict)  # case -> seconds of one uninterrupted run
    #: seconds between two records of the Kafka load and the producer (0: as fast as they go). A small source
    #: crosses Kafka in milliseconds, before any kill could land: pacing it keeps the kill inside the run.
    pace: float = 0.0

    def outputs_file(self, outputs: dict[str, Any]) -> Path:
        """The outputs (they hold the emulators' keys) in a 0600 file."""
        path = self.root / f"outputs-{uuid.uuid4().hex[:8]}.json"
        import json

        write_private(path, json.dumps(outputs))
        return path

    def trial_dir(self, case: str, trial: int, dataset: str = DATASET) -> Path:
        """A fresh folder with the dataset's JSON lines: its own `_state` (Kafka checkpoint) and `_rejected`."""
        folder = self.root / case / f"trial-{trial}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        shutil.copyfile(self.source / f"{dataset}.jsonl", folder / f"{dataset}.jsonl")
        return folder

    def keys(self, dataset: str = DATASET) -> set[str]:
        import json

        from schemas import load as load_schema

        schema = load_schema(dataset)
        lines = (self.source / f"{dataset}.jsonl").read_text(encoding="utf-8").splitlines()
        return {schema.document_id(json.loads(line)) for line in lines if line.strip()}

    def kill_point(self, source: int) -> int:
        """A random number of records after which a kill lands: past the first, before the last quarter (the
        target is polled, and a batch or two may land between a poll and the kill)."""
        return self.rng.randint(1, source * 3 // 4)
