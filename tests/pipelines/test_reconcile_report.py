"""Thresholds and verdicts of a reconciliation (no service needed: the comparisons are given)."""

from __future__ import annotations

import pytest

from pipelines.reconcile.airflow_task import thresholds_from_params
from pipelines.reconcile.compare import Finding, StageComparison
from pipelines.reconcile.report import DatasetReport, Limit, StageReport, Thresholds


@pytest.mark.parametrize(
    ("text", "limit"), [("0", Limit(0)), ("12", Limit(12)), ("0.5%", Limit(0.5, True)), (" 3 % ", Limit(3, True))]
)
def test_a_limit_is_rows_or_a_percentage(text: str, limit: Limit) -> None:
    assert Limit.parse(text) == limit


@pytest.mark.parametrize("text", ["", "-1", "1.5", "ten", "5%%", "%"])
def test_anything_else_is_refused_with_the_text_named(text: str) -> None:
    with pytest.raises(ValueError, match="is not a row count"):
        Limit.parse(text)


def test_a_percentage_is_of_the_reference_rows() -> None:
    assert Limit(1, True).allows(10, 1000) and not Limit(1, True).allows(11, 1000)
    assert Limit(0).allows(0, 1000) and not Limit(0).allows(1, 1000)


def _dataset(stage: StageComparison, complete: bool = True) -> DatasetReport:
    reference = StageReport("source", "f", True, comparison=StageComparison(rows=200, keys=200))
    return DatasetReport("cards", "source", stages=[reference, StageReport("kafka", "t", complete, comparison=stage)])


def test_extra_and_duplicated_keys_count_as_mismatched_and_each_breach_is_one_line() -> None:
    stage = StageComparison(
        rows=202,
        keys=201,
        missing=Finding(1, ["7"]),
        extra=Finding(1, ["900"]),
        duplicates=Finding(1, [{"key": "5", "copies": 2}]),
    )
    assert _dataset(stage).failures(Thresholds()) == [
        "cards kafka: 1 missing (max 0): 7",
        "cards kafka: 2 mismatched (max 0): extra key 900; key 5 2 times",
    ]
    assert _dataset(stage).failures(Thresholds(Limit(1), Limit(1, True))) == []  # 1% of 200 rows: 2


def test_the_dags_read_their_thresholds_from_the_run_params() -> None:
    assert thresholds_from_params(None) == Thresholds()
    assert thresholds_from_params({"max_missing": "2", "max_mismatched": "0.5%"}) == Thresholds(
        Limit(2), Limit(0.5, True)
    )
