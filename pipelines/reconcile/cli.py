"""`python -m pipelines reconcile`: the command, its table and its exit code."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pipelines.common import add_outputs_arguments, outputs_from_args, work_dir
from pipelines.reconcile.plan import DEFAULT_STAGES, STAGES, Scope
from pipelines.reconcile.report import Limit, RunReport, Thresholds, note
from schemas import DATASETS

DESCRIPTION = """\
Every row and every value of each dataset accounted for, from the source files through every sink to the lake.

Each store the stack outputs name for a dataset is read once, as a stream: the converted JSON lines and the
quarantine (--source), MongoDB, Firestore, DynamoDB, the Kafka topic, dlt's batch table in S3 and the S3
sink's objects. Every value is encoded canonically from its type in schemas/ (77, 77.0 and Decimal('77.00')
are one number; a timestamp is compared as a UTC instant), hashed per column, and compared with the
reference stage (the source files, else MongoDB) per key segment: only segments whose checksums differ are
compared row by row, which names the missing and extra keys, duplicated keys and, per key, the columns
whose values differ.

Exit 0 when every stage is within the thresholds, 1 when one is not (or a store cannot be read), 2 on bad
stack outputs. Each run stores reconciliation/<dataset>/<run id>.json in the landing bucket (with the dlt load
ids and Kafka offsets it covered) and writes one self-contained HTML page."""

EPILOG = """\
examples:
  python -m pipelines reconcile --stack devstack --source data/json
  python -m pipelines reconcile --outputs local.json --dataset cards --max-missing 0.5% --json
  python -m pipelines reconcile --stack devstack --stage mongodb --stage lake-dlt --since 1764612345.123456
  python -m pipelines reconcile --stack devstack --source data/json --stage kafka --since 2026-12-07T12:00Z

thresholds: N rows or P% of the reference's rows, per stage. mismatched counts the rows whose values differ
plus extra and duplicated keys. With --since only what arrived from then on is read: dlt's loads from that
load id on (a load id is a Unix time) and the Kafka records the broker stamped from that time on; missing keys
are then not counted for those stages, everything else is.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_outputs_arguments(parser)
    parser.add_argument("--dataset", action="append", choices=DATASETS, help="a dataset (repeat; default: all)")
    parser.add_argument("--source", type=Path, metavar="DIR",
                        help="the converter's output (<dataset>.jsonl, _rejected/): the reference stage")  # fmt: skip
    parser.add_argument("--stage", action="append", choices=STAGES,
                        help="only these stages (repeat; default all but silver)")  # fmt: skip
    parser.add_argument("--since", type=since_arg, metavar="TIME",
                        help="only dlt loads, Kafka records from then on: load id (Unix time) or ISO 8601")  # fmt: skip
    parser.add_argument("--max-missing", type=_limit, default=Limit(0), metavar="N|P%",
                        help="missing keys allowed per stage (default 0)")  # fmt: skip
    parser.add_argument("--max-mismatched", type=_limit, default=Limit(0), metavar="N|P%",
                        help="differing, extra or duplicated rows allowed per stage (default 0)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    parser.add_argument("--html", type=Path, metavar="FILE",
                        help="where the HTML page goes (default .out/reconciliation/<run id>.html)")  # fmt: skip
    parser.add_argument("--no-store", action="store_true", help="do not write the report into the lake")


def _limit(text: str) -> Limit:
    try:
        return Limit.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from pipelines.reconcile.run import reconcile

    outputs = outputs_from_args(args)
    if args.source is not None and not args.source.is_dir():
        print(f"reconcile: --source {args.source}: no such folder", file=sys.stderr)
        return 2
    scope = scope_from_args(args)
    err = Console(stderr=True)
    with err.status("reconciling ...") as status:
        report = reconcile(
            outputs,
            args.dataset or DATASETS,
            scope,
            Thresholds(args.max_missing, args.max_mismatched),
            progress=lambda d, s, n: status.update(f"reconciling {d}: {s} {n:,} rows"),
            store=not args.no_store,
        )
    write_html(report, args.html)
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
    else:
        Console().print(table(report))
        print_verdict(report, Console())
    return 0 if report.ok else 1


def since_arg(text: str) -> str:
    """`--since` as dlt's load ids spell a time: Unix seconds as text (an ISO 8601 time is converted)."""
    try:
        if Decimal(text).is_finite():
            return text
    except InvalidOperation:
        pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a load id (Unix time) or an ISO 8601 time") from None
    return f"{(when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp():.6f}"


def scope_from_args(args: argparse.Namespace) -> Scope:
    since = args.since or None
    kafka_since = float(since) if since else None
    return Scope(args.source, tuple(args.stage or DEFAULT_STAGES), since, kafka_since_time=kafka_since)


def write_html(report: RunReport, path: Path | None) -> Path:
    from pipelines.reconcile.html import render

    path = path or work_dir() / "reconciliation" / f"{report.run_id}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report), encoding="utf-8")
    report.html = str(path.resolve())
    return path


def table(report: RunReport) -> Any:
    from rich.table import Table

    t = Table(title=f"Reconciliation {report.run_id}")
    for name in ("dataset", "stage", "rows", "keys", "missing", "extra", "dupl.", "mismatched", "", "first findings"):
        t.add_column(
            name, justify="right" if name in ("rows", "keys", "missing", "extra", "dupl.", "mismatched") else "left"
        )
    bad = {line.split(":", 1)[0] for line in report.failures()}
    for d in report.datasets:
        if d.error and not d.stages:
            t.add_row(d.dataset, "—", *[""] * 6, "[red]FAIL[/]", d.error)
        for s in d.stages:
            c = s.comparison
            failed = f"{d.dataset} {s.stage}" in bad
            t.add_row(d.dataset, s.stage, f"{c.rows:,}", f"{c.keys:,}", f"{c.missing.count:,}" if s.complete else "—",
                      f"{c.extra.count:,}", f"{c.duplicates.count:,}", f"{c.mismatched.count:,}",
                      "[red]FAIL[/]" if failed else "[green]ok[/]",
                      note(d, s))  # fmt: skip
    return t


def print_verdict(report: RunReport, console: Any) -> None:
    for line in report.failures():
        console.print(f"[red]{line}[/]", highlight=False)
    for dataset, url in report.stored.items():
        console.print(f"[dim]{dataset}: report stored at {url}[/]", highlight=False)
    console.print(f"HTML report: {report.html}" + (f" (and {report.page})" if report.page else ""), highlight=False)
