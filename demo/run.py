"""`make demo` (`python -m demo`): the whole product on the local platform, through Pulumi and Airflow.

1. start devstack's processes (idempotent: running services are reused; it owns the emulated account's
   buckets and tables);
2. `up` of the `devstack` stack on the real Pulumi engine: the Kafka topics, schema subjects, the S3 sink
   connector, and the Airflow connections/variables that carry the stack outputs (a re-run: no changes);
3. generate a sample of the Kaggle dataset (seeded: the same sample every time) and convert it to typed
   JSON lines (bad rows go to quarantine);
4. the DAG `load_sources` in Airflow: the loaders put the sample into MongoDB, Firestore, DynamoDB and Kafka;
5. the batch DAG `ingestion_pipeline_mongodb_s3` in Airflow (dlt MongoDB -> S3 and GCS);
6. the transform DAG `transform_finance_dbt` (dbt: silver and gold in devstack's DuckDB, every dbt test, the
   docs page; its reconcile task checks silver against the lake, its gold check each month's total);
7. stream the cards through the producer -> Kafka -> the stack's S3 sink connector, and wait for the lake;
8. reconcile, once: the DAGs' reconcile tasks already compared the sinks they loaded and the lake dlt wrote, and
   stored their reports; this step reads those back and compares only what no DAG covered (the stream: Kafka
   and the S3 sink's lake), then shows and stores the whole as one run; exit 1 if anything is off.

Re-running is safe: every load writes by key, the batch loads only new transactions, the loaders' Kafka
checkpoint is kept with the platform (a fresh --work-dir sends nothing twice), and the streamed topic is
reconciled from the offsets this run's producer started at (it re-sends the cards whole). A sample of another
--rows or --seed gives the same keys other values, which the lake and Kafka would keep as they were: when the
platform holds such a sample, the demo stops before loading and says how to go on (demo/sample.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from demo.sample import SampleConflict, conflicts, explain, link_checkpoints, platform_folder, write_marker
from demo.table import DemoResult
from schemas import DATASETS

if TYPE_CHECKING:
    from demo.airflow import DagSession

DEFAULT_ROWS = 20_000
DEFAULT_SEED = 42
SERVICES = ("moto", "gcs", "firestore", "ferretdb", "kafka", "registry", "connect", "airflow")
STACK = "devstack"
LOAD_DAG = "load_sources"
BATCH_DAG = "ingestion_pipeline_mongodb_s3"
TRANSFORM_DAG = "transform_finance_dbt"


class Demo:
    def __init__(self, rows: int, seed: int, work: Path, console: Any) -> None:
        from demo.airflow import DevstackAirflow

        self.rows, self.seed, self.work, self.console = rows, seed, work, console
        self.result = DemoResult()
        self.outputs: dict[str, Any] = {}
        self.raw_dir = work / "raw"
        self.converted_dir = work / "converted"
        self.airflow = DevstackAirflow()
        #: one Airflow process for the run's DAGs (demo.dag_session), started by the first
        self.dags: DagSession | None = None
        #: topic -> partition -> the offset this run's producer started at; and when it started
        self.kafka_since: dict[str, dict[int, int]] = {}
        self.streamed_at: datetime | None = None
        #: "<dag>/<dataset>" -> s3:// URL of the report the DAG run's reconcile task stored
        self.dag_reports: dict[str, str] = {}
        #: the closing lines from gold and the dbt docs page, once the transform DAG has built them
        self.gold: list[str] = []
        #: the demo's folder in the platform's home (demo.sample)
        self.platform = work

    def say(self, message: str) -> None:
        self.console.print(f"  {message}", highlight=False)

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

    # --- 1, 2: the platform ------------------------------------------------------------------------
    def start_platform(self) -> None:
        from devstack.platform import Platform

        Platform().up(list(SERVICES), report=self.say)

    def up_stack(self) -> None:
        from devstack.config import DevstackConfig
        from stacks.engine import changes, outputs_of, select_stack

        log = self.work / "pulumi-up.log"
        # the substrate this devstack wrote: with DEVSTACK_HOME elsewhere, not the default home's
        substrate = DevstackConfig.from_env().home / "outputs.json"
        stack = select_stack(STACK, config={"substrateOutputs": str(substrate)})
        with self.console.status(f"pulumi up of stack {STACK} (log: {log}) ..."), log.open("w") as out:
            result = stack.up(refresh=True, color="never", on_output=lambda line: print(line, file=out))
        summary = changes(result.summary.resource_changes)
        unchanged = set(summary) <= {"same"}
        self.say(f"stack {STACK}: {'no changes' if unchanged else summary} ({sum(summary.values())} resources)")
        self.outputs = outputs_of(stack)

    # --- 3: the sample -----------------------------------------------------------------------------
    def generate_and_convert(self) -> None:
        from loaders.convert import convert_dir
        from loaders.generate import generate_dataset

        with self.console.status(f"generating {self.rows:,} transactions (seed {self.seed}) ..."):
            generate_dataset(self.raw_dir, self.rows, self.seed)
        with self.console.status("converting CSV/JSON to typed JSON lines ..."):
            report = convert_dir(self.raw_dir, self.converted_dir)
        self.platform = platform_folder()
        link_checkpoints(self.converted_dir, self.platform)
        for dataset, counts in report.datasets.items():
            if counts.error:
                self.result.errors.append(f"converting {dataset}: {counts.error}")
                self.console.print(f"  [red]{dataset}: {counts.error}[/]")
                continue
            self.say(f"{dataset}: read {counts.read:,}, written {counts.written:,}, rejected {counts.rejected:,}")

    def streamed(self) -> dict[str, str]:
        """dataset -> topic for the topics the S3 sink writes to the lake (the seed's cards-data)."""
        topics = self.outputs["kafka_topics"]
        return {d: t for d, t in topics.items() if t in self.outputs["s3_sink"]["topics"]}

    # --- 4, 5: Airflow -----------------------------------------------------------------------------
    def run_dag(self, dag_id: str, conf: dict[str, Any] | None = None) -> bool:
        log = self.work / f"airflow-{dag_id}.log"
        with self.console.status(f"airflow dags test {dag_id} (log: {log}) ..."):
            self.dags = self.dags or self.airflow.session()
            code = self.dags.run(dag_id, log, conf)
        if code != 0:
            self.result.errors.append(f"the DAG run of {dag_id} failed (exit {code}); see {log}")
            self.console.print(f"  [red]{dag_id} failed[/], log: {log}")
            return False
        self.say(f"{dag_id} succeeded, log: {log}")
        return True

    def check_sample(self) -> None:
        """Stop before loading when the platform holds another sample (demo.sample): SampleConflict."""
        from contract.outputs import validate_outputs

        outputs = validate_outputs(self.outputs, f"stack {STACK}")
        with self.console.status("comparing the sample with what MongoDB and Kafka already hold ..."):
            found = conflicts(outputs, self.converted_dir, DATASETS, self.streamed())
        if found:
            raise SampleConflict(explain(found, self.platform, self.rows, self.seed))
        self.say("the platform holds nothing this sample disagrees with")

    def load_sinks(self) -> None:
        self.check_sample()
        if not self.run_dag(LOAD_DAG, {"source_dir": str(self.converted_dir.resolve())}):
            return
        write_marker(self.platform, self.rows, self.seed)
        loaded: dict[str, int] = self.airflow.latest_xcom(LOAD_DAG, "summary")
        for name, count in sorted(loaded.items()):
            sink, dataset = name.split(".", 1)
            self.say(f"{sink:>9} {dataset:<13} {count:,} records in place")
        self.keep_dag_reconciliation(LOAD_DAG)

    def run_batch_dag(self) -> None:
        if self.run_dag(BATCH_DAG):
            self.keep_dag_reconciliation(BATCH_DAG)

    def run_transform_dag(self) -> None:
        """What `airflow dags test` cannot do: start the DAG scheduled on the batch DAG's Asset."""
        from demo.gold import answer_lines

        if not self.run_dag(TRANSFORM_DAG):
            return
        built: dict[str, Any] = self.airflow.latest_xcom(TRANSFORM_DAG, "build")
        for layer, seconds in built["seconds_by_layer"].items():
            self.say(f"{layer:>14}: {seconds:.1f} s")
        self.keep_dag_reconciliation(TRANSFORM_DAG)
        self.gold = answer_lines(self.outputs, built.get("docs_page"))

    def keep_dag_reconciliation(self, dag_id: str) -> None:
        """What the DAG run's reconcile task compared and stored: the closing step reads it, not the stores again."""
        summary: dict[str, Any] = self.airflow.latest_xcom(dag_id, "reconcile")
        self.dag_reports.update({f"{dag_id}/{d}": url for d, url in summary["stored"].items()})
        self.say(f"{dag_id} reconciled run {summary['run_id']}: {', '.join(sorted(summary['stored']))}")

    # --- 6: streaming ------------------------------------------------------------------------------
    def stream(self, timeout: float) -> None:
        for dataset, topic in self.streamed().items():
            self.stream_dataset(dataset, topic, timeout)

    def stream_dataset(self, dataset: str, topic: str, timeout: float) -> None:
        from contract.outputs import validate_outputs
        from loaders.load import load_dataset
        from pipelines.streaming.sink import end_offsets, read_sink_records, wait_for_records

        since = end_offsets(self.outputs, topic)
        self.kafka_since[topic] = since
        # S3 keeps whole seconds: a second of margin, still after any earlier run's last write
        written_since = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
        self.streamed_at = self.streamed_at or written_since
        with self.console.status(f"producing {dataset} to {topic} ..."):
            # no checkpoint: every demo run streams the whole file again, which reconcile counts from `since`
            outputs = validate_outputs(self.outputs, f"stack {STACK}")
            report = load_dataset(
                "kafka", dataset, outputs, self.converted_dir, progress=False, count=False, checkpoint=False
            )
        self.say(
            f"{topic}: delivered {report.written:,}, failed {report.failed:,} (rejected {report.rejected:,}) "
            f"in {report.seconds:.1f}s"
        )
        expected = report.written
        with self.console.status(f"waiting for the S3 sink to write {expected:,} records ...") as status:

            def progress(n: int) -> None:
                status.update(f"S3 sink {self.outputs['s3_sink']['connector']}: {n:,} of {expected:,} records")

            try:
                records = wait_for_records(
                    self.outputs, topic, expected, timeout, since, on_progress=progress, written_since=written_since
                )
            except RuntimeError as exc:
                self.result.errors.append(str(exc))
                records = read_sink_records(self.outputs, topic, since, written_since=written_since)
        self.say(f"S3 sink: {len(records):,} records of {topic} in the lake")

    # --- 7: reconcile ------------------------------------------------------------------------------
    def reconcile(self) -> None:
        from contract.clients import s3_client
        from contract.outputs import validate_outputs
        from pipelines.reconcile.cli import write_html
        from pipelines.reconcile.combine import combine, covered, datasets_left, read_stored, uncovered_scope
        from pipelines.reconcile.plan import Scope
        from pipelines.reconcile.run import reconcile
        from pipelines.reconcile.storage import store_in_lake

        outputs = validate_outputs(self.outputs, f"stack {STACK}")
        s3 = s3_client(outputs)
        earlier = read_stored(self.dag_reports, s3)
        scope = Scope(self.converted_dir, kafka_since=self.kafka_since, sink_written_since=self.streamed_at)
        scope = uncovered_scope(scope, covered(earlier))
        left = datasets_left(DATASETS, outputs, scope)
        self.say(f"{len(earlier)} dataset report(s) read back from the DAG runs; reconciling what they did not "
                 f"cover: {', '.join(left) or 'nothing'}")  # fmt: skip
        with self.console.status("reconciling ...") as status:
            own = reconcile(
                outputs,
                left,
                scope,
                progress=lambda d, s, n: status.update(f"reconciling {d}: {s} {n:,} rows"),
                store=False,
            )
        report = combine(own, earlier)
        store_in_lake(report, outputs, s3)
        self.result.report = report
        write_html(report, self.work / "reconciliation.html")
        self.say(f"{len(report.stored)} report(s) stored in the lake, e.g. {next(iter(report.stored.values()), '-')}")

    # --- the end -----------------------------------------------------------------------------------
    def still_running(self) -> None:
        creds = self.airflow.credentials
        self.console.rule("[bold]still running")
        self.say(f"devstack: {', '.join(SERVICES)} (`make status`, logs: `python -m devstack logs SERVICE`)")
        self.say(
            f"Airflow UI: {creds['url']}  user {creds['username']}, password in {self.airflow.service.password_file}"
        )
        self.say(f"stack {STACK}: `make preview` shows what would change, `python -m stacks outputs` its outputs")
        self.say("stop: `make down` (the processes); `make destroy` deletes the stack's topics, subjects, connector, "
                 "connections and variables")  # fmt: skip


def run_steps(demo: Demo, steps: list[tuple[str, Callable[[], None]]]) -> None:
    from pipelines.common import quiet_http_clients

    for number, (title, action) in enumerate(steps):
        quiet_http_clients()
        with demo.step(title):
            try:
                action()
            except Exception as exc:  # a failed step is reported in the table; later steps may still run
                demo.result.errors.append(f"{title}: {type(exc).__name__}: {exc}")
                demo.console.print(f"[red]{title} failed:[/] {type(exc).__name__}: {exc}")
                # without the platform and its outputs nothing else can run; nor after a refused sample
                if number < 2 or not demo.outputs or isinstance(exc, SampleConflict):
                    break


def run_demo(
    rows: int = DEFAULT_ROWS,
    seed: int = DEFAULT_SEED,
    work: Path | None = None,
    sink_timeout: float = 180.0,
    console: Any = None,
) -> DemoResult:
    from rich.console import Console

    from demo.table import render
    from pipelines.common import work_dir

    console = console or Console()
    work = work or work_dir() / "demo"
    work.mkdir(parents=True, exist_ok=True)
    demo = Demo(rows, seed, work, console)
    steps: list[tuple[str, Callable[[], None]]] = [
        ("start the local platform (devstack)", demo.start_platform),
        (f"stack {STACK} on the Pulumi engine: topics, subjects, S3 sink, Airflow settings", demo.up_stack),
        ("generate and convert the sample", demo.generate_and_convert),
        (f"Airflow: {LOAD_DAG} (loaders -> MongoDB, Firestore, DynamoDB, Kafka)", demo.load_sinks),
        (f"Airflow: {BATCH_DAG} (dlt MongoDB -> S3 + GCS)", demo.run_batch_dag),
        (f"Airflow: {TRANSFORM_DAG} (dbt: silver and gold, tests, docs)", demo.run_transform_dag),
        ("streaming: producer -> Kafka -> S3 sink", lambda: demo.stream(sink_timeout)),
        ("reconcile: source files vs every sink vs the lake, by key and value", demo.reconcile),
    ]
    try:
        run_steps(demo, steps)
    finally:
        if demo.dags is not None:
            demo.dags.close()
    console.rule("[bold]result")
    console.print(render(demo.result))
    if demo.result.report is not None:
        from pipelines.reconcile.cli import print_verdict

        print_verdict(demo.result.report, console)
    if demo.outputs:
        demo.still_running()
    demo.result.gold = demo.gold
    return demo.result
