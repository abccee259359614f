"""The reconciliation page in a real browser (Debian's chromium, headless; `make test-setup` installs it where
CI=true or KDE_INSTALL_CHROMIUM=1, else this test skips): the DOM chromium builds from the file holds the table's
findings, and its screenshot shows the chart: the stage bars in their colour and, only when a stage has problems,
the red of the problem rows. A page whose chart did not render, or that drew red for a clean run, fails."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import cast

import pytest

from pipelines.reconcile.compare import Finding, StageComparison
from pipelines.reconcile.html import PROBLEM_COLOUR, ROWS_COLOUR, render
from pipelines.reconcile.report import DatasetReport, RunReport, StageReport, Thresholds

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _report(faulty: bool) -> RunReport:
    clean = StageComparison(rows=300, keys=300)
    broken = StageComparison(
        rows=299,
        keys=299,
        missing=Finding(1, ["7475344"]),
        mismatched=Finding(60, [{"key": "7475369", "columns": ["amount"]}]),
        by_column={"amount": 60},
    )
    stages = [
        StageReport("source", "json/transactions.jsonl", True, comparison=clean),
        StageReport("mongodb", "kde-db.kde-finance-transactions", True, comparison=broken if faulty else clean),
        StageReport("lake-dlt", "s3://kde-landing/dlt/mongodb/transactions/", True, comparison=clean),
    ]
    dataset = DatasetReport("transactions", "source", rejected=4, stages=stages)
    return RunReport("20261201T200000Z-abc123", "devstack", "2026-12-01T20:00:00+00:00", Thresholds(), [dataset])


def _chromium(page: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    if not Path(CHROMIUM).exists():
        # installing it changes the machine (sudo apt-get): only CI does so unasked, and there it must be present
        if os.environ.get("CI") == "true":
            pytest.fail("no chromium in CI: `make test` installs Debian's there (tools/install_chromium.sh)")
        pytest.skip("no chromium: `KDE_INSTALL_CHROMIUM=1 make test-setup` installs Debian's (sudo apt-get)")
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *flags, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _colours(png: Path) -> set[tuple[int, int, int]]:
    from PIL import Image

    with Image.open(png) as image:
        return {cast(tuple[int, int, int], rgb) for _count, rgb in image.convert("RGB").getcolors(1 << 20) or []}


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


@pytest.mark.parametrize("faulty", [True, False], ids=["with-problems", "clean"])
def test_the_page_renders_its_table_and_chart_in_chromium(tmp_path: Path, faulty: bool) -> None:
    page = tmp_path / "report.html"
    page.write_text(render(_report(faulty)), encoding="utf-8")
    dom = _chromium(page, "--dump-dom")
    shot = tmp_path / "shot.png"
    screenshot = _chromium(page, f"--screenshot={shot}", "--window-size=1100,700")

    assert dom.returncode == 0, dom.stderr[-2000:]
    assert screenshot.returncode == 0 and shot.exists(), screenshot.stderr[-2000:]
    from html.parser import HTMLParser

    cells: list[str] = []

    class Cells(HTMLParser):
        def handle_data(self, data: str) -> None:
            if data.strip():
                cells.append(data.strip())

    Cells().feed(dom.stdout)
    row = cells[cells.index("mongodb") : cells.index("mongodb") + 9]
    colours = _colours(shot)
    assert _rgb(ROWS_COLOUR) in colours  # the bars were drawn
    assert "4 rejected at conversion (quarantined)" in cells  # the quarantine is accounted for on the source's row
    if faulty:
        assert row == [
            "mongodb",
            "299",
            "299",
            "1",
            "0",
            "0",
            "60",
            "FAIL",
            "missing key 7475344; key 7475369 differs in amount",
        ]
        assert "transactions mongodb: 1 missing (max 0): 7475344" in cells
        assert _rgb(PROBLEM_COLOUR) in colours
    else:
        assert row == ["mongodb", "300", "300", "0", "0", "0", "0", "ok", "kde-db.kde-finance-transactions"]
        assert _rgb(PROBLEM_COLOUR) not in colours
    assert len(colours) > 10  # text and table, not a blank page


def test_the_dbt_docs_page_loads_in_chromium(tmp_path: Path) -> None:
    """The page `make demo` names (dbt docs generate --static, built here from parquet files in a folder): the
    docs app renders the project's models, the gold marts among them, with no page error."""
    from _transform_world import duckdb_warehouse, world, write_landing

    from pipelines.transform.run import build

    outputs = duckdb_warehouse({"s3_buckets": {"landing": "unused"}}, tmp_path)
    result = build(outputs, landing_root=str(write_landing(world(30), tmp_path / "landing")), work_dir=tmp_path)
    assert result.ok and result.docs_page, "\n".join(result.lines())
    dom = _chromium(result.docs_page, "--dump-dom", "--virtual-time-budget=15000")

    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = dom.stdout.split("<script", 1)[0] + "".join(
        p.split("</script>", 1)[-1] for p in dom.stdout.split("<script")[1:]
    )
    assert "gold_fraud_rate_by_state" in rendered and "silver_transactions" in rendered  # the app drew them
