"""`python -m demo` end to end on devstack with a tiny sample: the devstack stack up on the real engine, every sink
loaded by the load_sources DAG, the batch DAG and the stream land in the lake, the reconciliation
(pipelines.reconcile) finds nothing missing or different and the command exits 0; a second run is "no changes"
for the engine and reconciles again (from a fresh work dir, as the next session's), a preview afterwards changes
nothing, after a destroy the demo works again, and a sample of another size is refused before anything is loaded.
Slow (every service the demo needs, Airflow three times): the sample is kept tiny."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from demo.run import SERVICES
from demo.table import DemoResult

REPO_ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=False
    )


@pytest.mark.devstack
def test_demo_reconciles_every_dataset_and_sink(devstack: Callable[..., dict[str, Any]], tmp_path: Path) -> None:
    substrate = devstack(*SERVICES)  # started (and stopped at the end) by the session when they were not running
    # again from a fresh work dir, as the next `make test` session's: the platform still holds the first run's data
    for attempt, work in (("first", tmp_path / "demo"), ("again", tmp_path / "demo-again")):
        proc = run("demo", "--rows", "300", "--work-dir", str(work))
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-6000:]
        assert "Reconciliation" in out
        assert "FAIL" not in out
        assert "every row is where it should be" in out
        assert "HTML report: " in out and "reconciliation/transactions/" in out
        # every sink reconciled, clean, as the run's reports stored in the lake say (the banner names them anyway)
        reconciled = stored_stages(substrate, out)
        for sink in ("mongodb", "firestore", "dynamodb", "kafka", "lake-dlt", "lake-gcs", "lake-s3-sink", "silver"):
            assert reconciled.get(sink) and all(reconciled[sink]), (sink, reconciled)
        for dag in ("load_sources", "ingestion_pipeline_mongodb_s3", "transform_finance_dbt"):
            assert f"{dag} succeeded" in out
            assert (work / f"airflow-{dag}.log").exists()
        assert "Airflow UI: http://127.0.0.1:" in out and "passwords.json" in out
        # it ends with an answer from gold and the dbt docs page
        ending = out[out.index("an answer from gold") :]
        assert "merchant states with the highest fraud rate" in ending
        docs = re.search(r"dbt docs \(lineage\): (\S+static_index\.html)", ending)
        assert docs and Path(docs.group(1)).exists(), ending
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
    # every resource of the stack, the S3 sink's dead-letter topic among them
    assert "stack devstack: {'create': 18}" in out
    assert "FAIL" not in out

    # another sample gives the same keys other values, which the lake and Kafka would keep: refused before loading
    proc = run("demo", "--rows", "400", "--work-dir", str(tmp_path / "demo-400"))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-6000:]
    assert "nothing was loaded" in out and "`python -m demo --rows 300 --seed 42`" in out, out[-6000:]
    assert "load_sources succeeded" not in out and not (tmp_path / "demo-400" / "airflow-load_sources.log").exists()


def stored_stages(outputs: dict[str, Any], out: str) -> dict[str, list[bool]]:
    """Per stage, for each dataset the demo's reconciliation reported it for, whether it was clean: no error, the
    reference's row count, no finding. Read back from the reports the run stored in the landing bucket."""
    from contract.clients import s3_client
    from schemas import DATASETS

    match = re.search(r"reconciliation/[\w-]+/([\w-]+)\.json", out)
    assert match, out[-3000:]
    s3, bucket = s3_client(outputs), outputs["s3_buckets"]["landing"]
    found: dict[str, list[bool]] = {}
    for dataset in DATASETS:
        try:
            body = s3.get_object(Bucket=bucket, Key=f"reconciliation/{dataset}/{match.group(1)}.json")["Body"].read()
        except s3.exceptions.NoSuchKey:
            continue
        report = json.loads(body)
        for stage in report["stages"]:
            findings = [stage[kind]["count"] for kind in ("missing", "extra", "duplicates", "mismatched")]
            clean = stage["error"] is None and stage["rows"] == report["reference_rows"] > 0 and not any(findings)
            found.setdefault(stage["stage"], []).append(clean)
    return found


def test_the_demo_succeeds_only_when_its_reconciliation_does_and_no_step_failed() -> None:
    from pipelines.reconcile.compare import Finding, StageComparison
    from pipelines.reconcile.report import DatasetReport, RunReport, StageReport, Thresholds

    result = DemoResult()
    assert not result.ok  # nothing reconciled is not a success
    same = StageComparison(rows=5, keys=5)
    stages = [StageReport("source", "f", True, comparison=same), StageReport("mongodb", "m", True, comparison=same)]
    result.report = RunReport("r", "devstack", "now", Thresholds(), [DatasetReport("cards", "source", stages=stages)])
    assert result.ok
    stages[1].comparison = StageComparison(rows=4, keys=4, missing=Finding(1, ["3"]))
    assert not result.ok
    stages[1].comparison = same
    result.errors.append("the DAG run failed")
    assert not result.ok


def test_the_kafka_checkpoints_live_with_the_platform_not_the_work_dir(tmp_path: Path) -> None:
    from demo.sample import link_checkpoints

    platform, first, second = tmp_path / "platform", tmp_path / "one" / "converted", tmp_path / "two" / "converted"
    (first / "_state").mkdir(parents=True)
    (first / "_state" / "kafka-t-1.delivered").write_text("k1\n")
    target = link_checkpoints(first, platform)
    # a checkpoint an earlier run kept in its work dir moves to the platform's folder
    assert (target / "kafka-t-1.delivered").read_text() == "k1\n"
    assert (first / "_state").is_symlink() and (first / "_state" / "kafka-t-1.delivered").exists()
    assert link_checkpoints(first, platform) == target  # again: nothing changes
    # a fresh work dir sees the same checkpoints
    (second / "_state").mkdir(parents=True)
    (second / "_state" / "kafka-t-1.delivered").write_text("older\n")
    link_checkpoints(second, platform)
    assert (second / "_state" / "kafka-t-1.delivered").read_text() == "k1\n"
