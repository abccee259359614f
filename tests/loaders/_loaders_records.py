"""The loader tests' records read back from the converted sample, and outputs private to one test."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

from contract.outputs import StackOutputs, validate_outputs


def read_records(source: Path, dataset: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (source / f"{dataset}.jsonl").read_text().splitlines()]


def private_outputs(outputs: dict[str, Any], dataset: str, key: str) -> StackOutputs:
    """Outputs whose collection/topic for `dataset` is unique to this test, so shared data cannot interfere."""
    mine = copy.deepcopy(outputs)
    mine[key][dataset] = f"test-{dataset}-{uuid.uuid4().hex[:8]}"
    return validate_outputs(mine, "the test's outputs")
