"""One reconciliation per run: a stored report reads back as it was written, the stages the DAG runs compared are
not compared again, and the closing run shows them beside its own, in the usual order, with the same verdict."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from contract.outputs import StackOutputs
from pipelines.reconcile.combine import combine, covered, datasets_left, uncovered_scope
from pipelines.reconcile.compare import Finding, StageComparison
from pipelines.reconcile.plan import Scope
from pipelines.reconcile.report import (
    DatasetReport,
    RunReport,
    StageReport,
    Thresholds,
    dataset_from_json,
    dataset_json,
)


def stage(name: str, rows: int = 10, missing: Finding | None = None) -> StageReport:
    comparison = StageComparison(rows, rows, missing=missing or Finding())
    return StageReport(name, f"at {name}", True, 0.5, comparison, {"read": rows})


def run_of(*parts: DatasetReport) -> RunReport:
    return RunReport("own", "devstack", "now", Thresholds(), list(parts))


def test_a_stored_dataset_report_reads_back_equal() -> None:
    missing = Finding(2, ["k1", "k2"])
    mismatched = Finding(1, [{"key": "k3", "columns": ["amount"]}])
    part = DatasetReport("cards", "source", 3, [stage("source"), stage("mongodb", 8, missing=missing)], None)
    part.stages[1].comparison.mismatched = mismatched
    part.stages[1].comparison.by_column = {"amount": 1}
    part.stages[1].error = "partly read"

    assert dataset_from_json(dataset_json(part)) == part


def test_covered_is_every_compared_stage_but_the_source_and_a_self_compared_reference() -> None:
    load = DatasetReport("users", "source", stages=[stage("source"), stage("mongodb"), stage("kafka")])
    batch = DatasetReport("users", "mongodb", stages=[stage("mongodb"), stage("lake-dlt")])

    assert covered([load, batch]) == {("users", "mongodb"), ("users", "kafka"), ("users", "lake-dlt")}


def test_combine_orders_stages_keeps_the_earlier_reference_and_its_verdict() -> None:
    earlier_source = stage("source")
    load = DatasetReport("cards", "source", 4, [earlier_source, stage("mongodb", 9, missing=Finding(1, ["c9"]))])
    batch = DatasetReport("cards", "mongodb", stages=[stage("mongodb"), stage("lake-dlt")])
    own = DatasetReport("cards", "source", stages=[stage("source"), stage("kafka"), stage("lake-s3-sink")])

    report = combine(run_of(own), [load, batch])

    (cards,) = report.datasets
    assert [s.stage for s in cards.stages] == ["source", "mongodb", "kafka", "lake-dlt", "lake-s3-sink"]
    assert cards.stages[0] is earlier_source and cards.reference == "source" and cards.rejected == 4
    assert report.failures() == ["cards mongodb: 1 missing (max 0): c9"]


def test_a_batch_only_dataset_takes_the_lake_as_its_rows_and_passes_when_clean() -> None:
    batch = DatasetReport("mcc", "mongodb", stages=[stage("mongodb"), stage("lake-dlt")])

    report = combine(run_of(), [batch])

    assert [(d.dataset, d.reference, [s.stage for s in d.stages]) for d in report.datasets] == [
        ("mcc", "lake-dlt", ["lake-dlt"])
    ]
    assert report.ok


def outputs() -> StackOutputs:
    return cast(
        StackOutputs,
        {
            "mongodb_database": "db",
            "mongodb_collections": {"cards": "c", "users": "u"},
            "kafka_bootstrap_servers": "127.0.0.1:1",
            "kafka_topics": {"cards": "cards-data", "users": "users-data"},
            "s3_sink": {
                "topics": ["cards-data"],
                "bucket": "landing",
                "prefix": "topics",
                "connector": "s",
                "flavour": "x",
            },
            "s3_buckets": {"landing": "landing"},
        },
    )


def test_only_datasets_with_a_stage_left_are_read_again(tmp_path: Path) -> None:
    for dataset in ("cards", "users"):
        (tmp_path / f"{dataset}.jsonl").write_text("{}\n")
    done = frozenset(
        (d, s) for d in ("cards", "users") for s in ("mongodb", "kafka", "lake-dlt", "firestore", "dynamodb")
    )
    scope = uncovered_scope(Scope(tmp_path), done)

    assert datasets_left(["cards", "users"], outputs(), scope) == ["cards"]  # its stream to the lake
    assert (
        datasets_left(["cards", "users"], outputs(), uncovered_scope(scope, frozenset({("cards", "lake-s3-sink")})))
        == []
    )
