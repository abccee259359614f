"""`python -m demo` end to end on devstack with a tiny sample: the devstack stack up on the real engine, every sink
loaded by the load_sources DAG, the batch DAG and the stream land in the lake, the reconciliation finds nothing
missing and the command exits 0; a second run is "no changes" for the engine and reconciles again, a preview
afterwards changes nothing, and after a destroy the demo works again. Slow (every service the demo needs,
Airflow three times): the sample is kept tiny."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from demo.run import SERVICES
from demo.table import Cell, DemoResult

REPO_ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=False
    )


@pytest.mark.devstack
def test_demo_reconciles_every_dataset_and_sink(devstack: Callable[..., dict[str, Any]], tmp_path: Path) -> None:
    devstack(*SERVICES)  # started (and stopped at the end) by the session when they were not running
    for attempt in ("first", "again"):
        proc = run("demo", "--rows", "300", "--work-dir", str(tmp_path / "demo"))
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-6000:]
        assert "Reconciliation" in out
        assert "MISSING" not in out
        assert "every row is where it should be" in out
        for sink in ("mongodb", "firestore", "dynamodb", "kafka"):
            assert sink in out
        for dag in ("load_sources", "ingestion_pipeline_mongodb_s3"):
            assert f"{dag} succeeded" in out
            assert (tmp_path / "demo" / f"airflow-{dag}.log").exists()
        assert "Airflow UI: http://127.0.0.1:" in out and "passwords.json" in out
        if attempt == "again":
            assert "stack devstack: no changes" in out, out[-6000:]
    preview = run("stacks", "preview", "--expect-no-changes")
    assert preview.returncode == 0, preview.stdout[-3000:] + preview.stderr[-3000:]

    # destroy, then the demo again: the stack creates everything anew and the re-created topic's records are
    # told apart from what its earlier incarnation left in the lake
    destroy = run("stacks", "destroy")
    assert destroy.returncode == 0, destroy.stdout[-3000:] + destroy.stderr[-3000:]
    proc = run("demo", "--rows", "300", "--work-dir", str(tmp_path / "demo"))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "stack devstack: {'create': 17}" in out
    assert "MISSING" not in out


@pytest.mark.parametrize(
    ("cell", "ok"),
    [
        (Cell(source=10, loaded=10, lake=10, lake_expected=10), True),
        (Cell(source=10, loaded=8, rejected=2), True),  # rejected rows are accounted for, not missing
        (Cell(source=10, loaded=9), False),  # one row disappeared
        (Cell(source=10, loaded=10, lake=9, lake_expected=10), False),  # the lake lacks one
        (Cell(source=10, loaded=10, lake=11, lake_expected=10), False),  # or has a double
        (Cell(source=10), False),  # never loaded (a step failed)
    ],
)
def test_a_cell_is_ok_only_when_every_row_is_accounted_for(cell: Cell, ok: bool) -> None:
    assert cell.ok is ok


def test_the_demo_fails_on_any_error_or_missing_cell() -> None:
    result = DemoResult()
    assert not result.ok  # nothing reconciled is not a success
    result.cell("cards", "mongodb").__dict__.update(source=5, loaded=5)
    assert result.ok
    result.errors.append("the DAG run failed")
    assert not result.ok
