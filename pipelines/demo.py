"""`make demo` (`python -m pipelines demo`): the whole product on the local platform, then a reconciliation.

1. start devstack (idempotent: running services are reused; buckets, tables and topics are created);
2. generate a sample of the Kaggle dataset (seeded: the same sample every time) and convert it to typed
   JSON lines (bad rows go to quarantine);
3. load every sink: MongoDB (FerretDB), Firestore, DynamoDB, Kafka (the streamed dataset is left to step 5);
4. run the batch DAG `ingestion_pipeline_mongodb_s3` with `airflow dags test` (dlt MongoDB -> S3);
5. stream the cards through the producer -> Kafka -> the S3 sink connector, and wait for the sink;
6. print, per dataset and sink, rows at source, loaded, in the lake, rejected; exit 1 if anything is missing.

Re-running is safe: the sinks are upserted by key, the batch loads only new transactions, and the lake is
compared with what MongoDB holds and what this run streamed (by Kafka offset).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.common import quiet_http_clients, work_dir
from schemas import DATASETS
from schemas import load as load_schema

DEFAULT_ROWS = 20_000
DEFAULT_SEED = 42
SINKS = ("mongodb", "firestore", "dynamodb", "kafka")
SERVICES = ("moto", "firestore", "ferretdb", "kafka", "registry", "connect", "airflow")
DAG_ID = "ingestion_pipeline_mongodb_s3"


@dataclass
class Cell:
    """One dataset in one sink."""

    source: int | None = None  # rows the converter read
    loaded: int | None = None  # rows in the sink after this run's load
    lake: int | None = None  # rows of this sample in the S3 lake via this sink (None: no pipeline from it)
    lake_expected: int | None = None  # what the lake must hold of this sample (the rows loaded)
    rejected: int = 0
    note: str = ""

    @property
    def ok(self) -> bool:
        if self.source is None or self.loaded is None:
            return False
        if self.loaded + self.rejected != self.source:
            return False
        return self.lake is None or self.lake == self.lake_expected


@dataclass
class DemoResult:
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    timings: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def cell(self, dataset: str, sink: str) -> Cell:
        return self.cells.setdefault((dataset, sink), Cell())

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.cells) and all(c.ok for c in self.cells.values())


class Demo:
    def __init__(self, rows: int, seed: int, work: Path, console: Any, services: tuple[str, ...] = SERVICES) -> None:
        self.rows, self.seed, self.work, self.console, self.services = rows, seed, work, console, services
        self.result = DemoResult()
        self.outputs: dict[str, Any] = {}
        self.raw_dir = work / "raw"
        self.converted_dir = work / "converted"

    # --- steps ---------------------------------------------------------------------------------------
    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        number = len(self.result.timings) + 1
        self.console.rule(f"[bold]{number}. {title}")
        started = time.monotonic()
        try:
            yield
        finally:
            seconds = time.monotonic() - started
            self.result.timings.append((title, seconds))
            self.console.print(f"[dim]{title}: {seconds:.1f}s[/]")

    def start_platform(self) -> None:
        from devstack.platform import Platform
        from pipelines.common import devstack_outputs

        Platform().up(list(self.services), report=lambda msg: self.console.print(f"  {msg}", highlight=False))
        self.outputs = devstack_outputs()

    def generate_and_convert(self) -> None:
        from loaders.convert import convert_dir
        from loaders.generate import generate_dataset

        with self.console.status(f"generating {self.rows:,} transactions (seed {self.seed}) ..."):
            generate_dataset(self.raw_dir, self.rows, self.seed)
        with self.console.status("converting CSV/JSON to typed JSON lines ..."):
            report = convert_dir(self.raw_dir, self.converted_dir)
        for dataset, counts in report.datasets.items():
            if counts.error:
                self.result.errors.append(f"converting {dataset}: {counts.error}")
                self.console.print(f"  [red]{dataset}: {counts.error}[/]")
                continue
            for sink in SINKS:
                cell = self.cell_for(dataset, sink)
                if cell is not None:
                    cell.source, cell.rejected = counts.read, counts.rejected
            self.console.print(
                f"  {dataset}: read {counts.read:,}, written {counts.written:,}, rejected {counts.rejected:,}",
                highlight=False,
            )

    def cell_for(self, dataset: str, sink: str) -> Cell | None:
        """The cell if `sink` has a target for `dataset` in the outputs (DynamoDB has tables for three)."""
        targets = {
            "mongodb": self.outputs["mongodb_collections"],
            "firestore": self.outputs["firestore_collections"],
            "dynamodb": self.outputs["dynamodb_tables"],
            "kafka": self.outputs["kafka_topics"],
        }[sink]
        return self.result.cell(dataset, sink) if dataset in targets else None

    def streamed(self) -> dict[str, str]:
        """dataset -> topic for the topics the S3 sink writes to the lake (the seed's cards-data)."""
        topics = self.outputs["kafka_topics"]
        return {d: t for d, t in topics.items() if t in self.outputs["s3_sink"]["topics"]}

    def load_sinks(self) -> None:
        from loaders.load import load_dataset

        streamed = self.streamed()
        for sink in SINKS:
            for dataset in DATASETS:
                cell = self.cell_for(dataset, sink)
                if cell is None or (sink == "kafka" and dataset in streamed):
                    continue
                started = time.monotonic()
                # the loaders draw their own progress bar (one live display at a time: no spinner here)
                report = load_dataset(sink, dataset, self.outputs, self.converted_dir, rows=None, mode="batch")
                cell.loaded = report.written + report.skipped
                cell.rejected += report.failed
                self.console.print(
                    f"  {sink:>9} {dataset:<13} written {report.written:,}, skipped {report.skipped:,}, "
                    f"failed {report.failed:,} ({time.monotonic() - started:.1f}s)",
                    highlight=False,
                )

    def run_batch_dag(self) -> None:
        from pipelines.airflow_config import apply, devstack_airflow_env
        from pipelines.batch.lake import read_columns
        from pipelines.batch.settings import settings_from_outputs
        from pipelines.common import s3_client

        env = devstack_airflow_env()
        apply(self.outputs, env)
        logical_date = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        log = self.work / "airflow-dags-test.log"
        with self.console.status(f"airflow dags test {DAG_ID} {logical_date} (log: {log}) ..."), log.open("w") as out:
            proc = subprocess.run(
                [_airflow(), "dags", "test", DAG_ID, logical_date],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if proc.returncode != 0:
            self.result.errors.append(f"the DAG run failed (exit {proc.returncode}); see {log}")
            self.console.print(f"  [red]DAG run failed[/], log: {log}")
        else:
            self.console.print(f"  DAG run succeeded, log: {log}")
        settings = settings_from_outputs(self.outputs)
        s3 = s3_client(self.outputs)
        for dataset in self.outputs["mongodb_collections"]:
            cell = self.result.cells.get((dataset, "mongodb"))
            if cell is None or cell.loaded is None:
                continue
            # the sample's keys found in the lake: exact for this run even when others share the collections
            schema = load_schema(dataset)
            lake_keys = {
                "-".join(str(v) for v in row)
                for row in read_columns(s3, settings.target, settings.dataset_name, dataset, list(schema.key))
            }
            sample = self.sample_keys(dataset)
            cell.lake, cell.lake_expected = len(sample & lake_keys), cell.loaded
            if len(lake_keys) != len(sample):
                cell.note = f"the lake table holds {len(lake_keys):,} keys in all"

    def sample_keys(self, dataset: str) -> set[str]:
        """The document ids (schemas.DatasetSchema.document_id) of the converted sample."""
        schema = load_schema(dataset)
        with self.converted_file(dataset).open(encoding="utf-8") as handle:
            return {schema.document_id(json.loads(line)) for line in handle if line.strip()}

    def stream(self, timeout: float) -> None:
        from pipelines.streaming.producer import ProducerSettings, produce
        from pipelines.streaming.sink import end_offsets, ensure_sink, read_sink_records, wait_for_records

        ensure_sink(self.outputs, report=lambda msg: self.console.print(f"  {msg}", highlight=False))
        for dataset, topic in self.streamed().items():
            cell = self.result.cell(dataset, "kafka")
            since = end_offsets(self.outputs, topic)
            settings = ProducerSettings(
                bootstrap_servers=self.outputs["kafka_bootstrap_servers"],
                schema_registry_url=self.outputs["schema_registry_url"],
                topic=topic,
                source_path=self.converted_file(dataset),
                schema=load_schema(dataset),
                quarantine_path=self.work / "quarantine" / f"produce-{topic}.jsonl",
            )
            with self.console.status(f"producing {dataset} to {topic} ..."):
                report = produce(settings)
            cell.loaded = report.delivered
            cell.rejected += report.rejected + report.failed
            self.console.print(
                f"  {topic}: delivered {report.delivered:,}, failed {report.failed:,}, rejected {report.rejected:,} "
                f"in {report.seconds:.1f}s",
                highlight=False,
            )
            expected = report.delivered
            with self.console.status(f"waiting for the S3 sink to write {expected:,} records ...") as status:

                def progress(n: int, total: int = expected, status: Any = status) -> None:
                    status.update(f"S3 sink: {n:,} of {total:,} records")

                try:
                    records = wait_for_records(
                        self.outputs,
                        topic,
                        expected,
                        timeout,
                        since,
                        on_progress=progress,
                    )
                except RuntimeError as exc:
                    self.result.errors.append(str(exc))
                    records = read_sink_records(self.outputs, topic, since)
            # what landed must be this sample, record for record (by key), and nothing else
            schema = load_schema(dataset)
            landed = [schema.document_id(r.value) for r in records]
            cell.lake = len(set(landed) & self.sample_keys(dataset))
            cell.lake_expected = report.delivered
            if len(landed) != len(set(landed)) or len(landed) != cell.lake:
                cell.note = f"{len(landed):,} records landed, {len(set(landed)):,} distinct"
                cell.lake = len(landed)
            self.console.print(f"  S3 sink: {cell.lake:,} records of {topic} in the lake", highlight=False)

    def converted_file(self, dataset: str) -> Path:
        from loaders.load import source_file

        return source_file(self.converted_dir, dataset)

    # --- output ----------------------------------------------------------------------------------------
    def table(self) -> Any:
        from rich.table import Table

        table = Table(title="Reconciliation", show_lines=False)
        for name, justify in (
            ("dataset", "left"),
            ("sink", "left"),
            ("at source", "right"),
            ("loaded", "right"),
            ("in the lake", "right"),
            ("rejected", "right"),
            ("", "left"),
            ("note", "left"),
        ):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for dataset in DATASETS:
            for sink in SINKS:
                cell = self.result.cells.get((dataset, sink))
                if cell is None:
                    continue
                table.add_row(
                    dataset,
                    sink,
                    _n(cell.source),
                    _n(cell.loaded),
                    "—" if cell.lake is None else _n(cell.lake),
                    _n(cell.rejected),
                    "[green]ok[/]" if cell.ok else "[red]MISSING[/]",
                    cell.note,
                )
        return table


def _n(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _airflow() -> str:
    from pipelines.airflow_config import airflow_executable

    return airflow_executable()


def run_demo(
    rows: int = DEFAULT_ROWS,
    seed: int = DEFAULT_SEED,
    work: Path | None = None,
    sink_timeout: float = 180.0,
    console: Any = None,
    services: tuple[str, ...] = SERVICES,
) -> DemoResult:
    from rich.console import Console

    console = console or Console()
    work = work or work_dir() / "demo"
    work.mkdir(parents=True, exist_ok=True)
    demo = Demo(rows, seed, work, console, services)
    steps: list[tuple[str, Callable[[], None]]] = [
        ("start the local platform (devstack)", demo.start_platform),
        ("generate and convert the sample", demo.generate_and_convert),
        ("load MongoDB, Firestore, DynamoDB and Kafka", demo.load_sinks),
        ("batch: Airflow DAG, dlt MongoDB -> S3", demo.run_batch_dag),
        ("streaming: producer -> Kafka -> S3 sink", lambda: demo.stream(sink_timeout)),
    ]
    for title, action in steps:
        quiet_http_clients()
        with demo.step(title):
            try:
                action()
            except Exception as exc:  # a failed step is reported in the table; later steps may still run
                demo.result.errors.append(f"{title}: {type(exc).__name__}: {exc}")
                console.print(f"[red]{title} failed:[/] {type(exc).__name__}: {exc}")
                if not demo.outputs:  # without a platform there is nothing else to do
                    break
    console.rule("[bold]result")
    console.print(demo.table())
    return demo.result


DESCRIPTION = __doc__.split("\n\n", 1)[1] if __doc__ else ""
EPILOG = """\
examples:
  make demo                                  the default sample (20,000 transactions)
  python -m pipelines demo --rows 2000       a quicker, smaller sample
  python -m pipelines demo --seed 7          another sample

Files (sample, converted data, quarantine, DAG log) go to .out/demo/ ($PIPELINES_WORK_DIR to move it).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rows", type=int, default=DEFAULT_ROWS, help=f"transactions in the sample (default {DEFAULT_ROWS:,})"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"sample seed (default {DEFAULT_SEED})")
    parser.add_argument("--work-dir", help="where the demo's files go (default: .out/demo)")
    parser.add_argument(
        "--sink-timeout", type=float, default=180.0, help="seconds to wait for the S3 sink (default 180)"
    )


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(width=None if Console().is_terminal else 140)
    started = time.monotonic()
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    result = run_demo(
        rows=args.rows,
        seed=args.seed,
        work=Path(args.work_dir) if args.work_dir else None,
        sink_timeout=args.sink_timeout,
        console=console,
    )
    total = time.monotonic() - started
    for title, seconds in result.timings:
        console.print(f"  {seconds:6.1f}s  {title}", highlight=False)
    console.print(f"[bold]total {total:.1f}s[/] for {args.rows:,} transactions")
    for error in result.errors:
        console.print(f"[red]error:[/] {error}")
    if not result.ok:
        console.print("[red bold]something is missing: see the table above[/]")
        return 1
    console.print("[green bold]every row is where it should be[/]")
    return 0
