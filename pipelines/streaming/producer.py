"""`python -m pipelines produce`: the seed's schema-registry producer, fixed.

The seed's `kafka/test_producer.py` looped forever over the same rows, polled once per pass and flushed only on
Ctrl-C. Here: one pass by default (`--loop` repeats), delivery callbacks served inside the loop, a flush on
every way out (end, error, Ctrl-C), and counts of delivered, failed and rejected records. Serialization,
the `<topic>-value` subject, key = record id and the idempotent producer are the loaders' Kafka sink
(loaders.sinks.kafka.SchemaRegistryJsonProducer, confluent-kafka's JSON Schema serializer): one serializer
in the project. A record that fails the schema is refused before it is sent, counted, and written to a
quarantine file with its file, line, field and reason. A record whose delivery fails (a broker outage longer
than the message timeout) is looked for on the topic before the summary: only one the topic does not hold
counts as failed, and goes to the same file with its key and line. With `--checkpoint`, a run killed at any
moment and run again leaves each record on the topic exactly once.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from contract.kafka_auth import kafka_auth_config
from pipelines.common import REPO_ROOT, work_dir
from schemas import DATASETS, SCHEMA_DIR, DatasetSchema
from schemas import load as load_schema

#: the seed streamed the cards
DEFAULT_DATASET = "cards"


class ProducerSetupError(ValueError):
    """A flag has no value and the stack outputs cannot provide one."""


@dataclass
class ProduceReport:
    topic: str
    source: str
    read: int = 0  # lines read from the source, over all passes
    sent: int = 0  # handed to the producer
    delivered: int = 0  # acknowledged by the broker
    failed: int = 0  # not delivered: the delivery failed and the topic does not hold the record
    rejected: int = 0  # refused before sending: not JSON, or fails the schema
    skipped: int = 0  # delivered by an earlier run (in the checkpoint), not sent again
    passes: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    quarantine: str | None = None
    reasons: list[str] = field(default_factory=list)  # the first few rejection reasons, for the summary
    errors: list[str] = field(default_factory=list)  # the first few delivery errors

    @property
    def undelivered(self) -> int:
        return self.sent - self.delivered - self.failed


@dataclass(frozen=True)
class ProducerSettings:
    bootstrap_servers: str
    schema_registry_url: str
    topic: str
    source_path: Path
    schema: DatasetSchema
    rows: int | None = None  # records per pass (None: the whole file)
    streaming_interval: float = 0.0  # seconds between two records
    loop: bool = False
    quarantine_path: Path | None = None
    #: delivered keys are appended here and skipped by the next run (resume a killed load); not with `loop`
    checkpoint: Path | None = None
    #: what the brokers' authentication needs (contract.kafka_auth from the outputs' `kafka_auth`, e.g. MSK IAM)
    client_settings: dict[str, Any] = field(default_factory=dict)


def default_source(dataset: str) -> Path:
    """Where `make demo` / the loaders' convert step leave a dataset's JSON lines."""
    return work_dir() / "demo" / "converted" / f"{dataset}.jsonl"


def schema_with_file(dataset: str, schema_path: Path | None) -> DatasetSchema:
    """The dataset's schema; `--schema-path` replaces the JSON Schema registered (key and id stay the dataset's)."""
    schema = load_schema(dataset)
    if schema_path is None or schema_path.resolve() == (SCHEMA_DIR / f"{dataset}.json").resolve():
        return schema
    try:
        raw = json.loads(schema_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ProducerSetupError(f"--schema-path {schema_path}: {exc}") from None
    return replace(schema, raw=raw)


def settings_from_args(args: argparse.Namespace, outputs: dict[str, Any] | None) -> ProducerSettings:
    dataset: str = args.dataset

    def pick(flag: str, value: Any, output_key: str, pick_from: Callable[[Any], Any] = lambda v: v) -> Any:
        if value:
            return value
        if outputs is None or not outputs.get(output_key):
            raise ProducerSetupError(f"{flag}: give it, or give the stack outputs (--stack NAME or --outputs FILE)")
        return pick_from(outputs[output_key])

    topic = pick("--topic", args.topic, "kafka_topics", lambda topics: topics[dataset])
    source = Path(args.source_path) if args.source_path else default_source(dataset)
    if not source.exists():
        raise ProducerSetupError(
            f"--source-path {source}: no such file; convert the dataset first (`make demo` does) "
            "or give a JSON lines file"
        )
    return ProducerSettings(
        bootstrap_servers=pick("--bootstrap-servers", args.bootstrap_servers, "kafka_bootstrap_servers"),
        schema_registry_url=pick("--schema-registry", args.schema_registry, "schema_registry_url"),
        topic=topic,
        source_path=source,
        schema=schema_with_file(dataset, Path(args.schema_path) if args.schema_path else None),
        rows=args.rows,
        streaming_interval=args.streaming_interval,
        loop=args.loop,
        quarantine_path=Path(args.quarantine) if args.quarantine else None,
        checkpoint=Path(args.checkpoint) if args.checkpoint else None,
        client_settings=kafka_auth_config(outputs or {}),
    )


def read_records(path: Path, limit: int | None) -> Iterator[tuple[int, str]]:
    """(line number, text) of the first `limit` non-empty lines."""
    count = 0
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if limit is not None and count >= limit:
                return
            if line.strip():
                count += 1
                yield number, line


class Quarantine:
    """Rejected records, one JSON object per line: file, line, field, reason, and the record as read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: Any = None

    def add(
        self,
        source: Path,
        line: int | None,
        reason: str,
        record: Any,
        field_name: str | None = None,
        key: str | None = None,
    ) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8")
        entry = {"file": str(source), "line": line, "key": key, "field": field_name, "reason": reason, "record": record}
        self._handle.write(json.dumps(entry, default=str) + "\n")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def produce(
    settings: ProducerSettings,
    *,
    on_progress: Callable[[ProduceReport], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    flush_timeout: float = 30.0,
) -> ProduceReport:
    """Send the source's records once (or until stopped with `loop`), then flush; Ctrl-C flushes too."""
    from loaders.sinks.kafka import RecordRejected, SchemaRegistryJsonProducer

    quarantine_path = settings.quarantine_path or work_dir() / "quarantine" / f"produce-{settings.topic}.jsonl"
    quarantine = Quarantine(quarantine_path)
    report = ProduceReport(topic=settings.topic, source=str(settings.source_path))
    started = time.monotonic()
    try:
        while True:
            report.passes += 1
            # one producer per pass: the loaders' producer never sends a key twice, and `--loop` (the seed's
            # load generator) is meant to send the same records again
            producer = SchemaRegistryJsonProducer(
                settings.bootstrap_servers,
                settings.schema_registry_url,
                settings.topic,
                settings.schema,
                checkpoint=settings.checkpoint,
                client_settings=settings.client_settings,
            )
            with producer:
                try:
                    for line_no, text in read_records(settings.source_path, settings.rows):
                        report.read += 1
                        _send_one(producer, RecordRejected, settings, quarantine, report, line_no, text)
                        if on_progress and report.read % 1_000 == 0:
                            on_progress(report)
                        if settings.streaming_interval:
                            time.sleep(settings.streaming_interval)
                        if should_stop():
                            break
                finally:
                    # every way out (end of pass, error, Ctrl-C) flushes: what was sent is delivered, or
                    # counted as failed, before anything else happens
                    counts = producer.flush(timeout=flush_timeout)
                    report.delivered += counts.delivered
                    report.failed += counts.failed
                    report.errors += producer.errors[: max(0, 5 - len(report.errors))]
                    for failure in producer.failures:  # not on the topic: named by key and line for a re-run
                        quarantine.add(
                            settings.source_path, failure.origin, failure.reason, failure.record, None, failure.key
                        )
            if not settings.loop or should_stop():
                break
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        quarantine.close()
        report.seconds = time.monotonic() - started
        if report.rejected or report.failed:
            report.quarantine = str(quarantine_path)
    if on_progress:
        on_progress(report)
    return report


def _send_one(
    producer: Any,
    rejected_error: type[Exception],
    settings: ProducerSettings,
    quarantine: Quarantine,
    report: ProduceReport,
    line_no: int,
    text: str,
) -> None:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        _reject(settings, quarantine, report, line_no, f"not JSON: {exc.msg} (column {exc.colno})", text, None)
        return
    try:
        if producer.send(record, origin=line_no):
            report.sent += 1
        else:
            report.skipped += 1
    except rejected_error as exc:
        _reject(settings, quarantine, report, line_no, str(exc), record, getattr(exc, "field", None))


def _reject(
    settings: ProducerSettings,
    quarantine: Quarantine,
    report: ProduceReport,
    line_no: int,
    reason: str,
    record: Any,
    field_name: str | None,
) -> None:
    report.rejected += 1
    if len(report.reasons) < 5:
        report.reasons.append(f"{settings.source_path.name}:{line_no}: {reason}")
    quarantine.add(settings.source_path, line_no, reason, record, field_name)


DESCRIPTION = __doc__.split("\n\n", 1)[1] if __doc__ else ""
EPILOG = """\
examples:
  python -m pipelines produce --stack devstack                   the converted cards, once, to cards-data
  python -m pipelines produce --stack devstack --rows 100 --streaming-interval 0.1 --loop
  python -m pipelines produce --bootstrap-servers 127.0.0.1:9092 --schema-registry http://127.0.0.1:8081 \\
      --topic cards-data --source-path data/cards.jsonl           no stack outputs needed when all are given

Exit status: 0 when every record read was delivered; 1 when some were rejected or failed; 130 on Ctrl-C
(after flushing).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    outputs = parser.add_argument_group("stack outputs (the defaults of the flags below)")
    source = outputs.add_mutually_exclusive_group()
    source.add_argument("--stack", metavar="NAME", help="a Pulumi stack")
    source.add_argument("--outputs", metavar="FILE", help="a JSON file of stack outputs")
    parser.add_argument(
        "--dataset", choices=DATASETS, default=DEFAULT_DATASET, help="which dataset (default: cards, as the seed)"
    )
    parser.add_argument(
        "--bootstrap-servers", help="Kafka bootstrap servers (default: outputs.kafka_bootstrap_servers)"
    )
    parser.add_argument("--schema-registry", help="schema registry URL (default: outputs.schema_registry_url)")
    parser.add_argument("--topic", help="topic (default: outputs.kafka_topics[dataset], e.g. cards-data)")
    parser.add_argument(
        "--source-path",
        help=f"JSON lines to send (default: {_shown(default_source(DEFAULT_DATASET))} for cards)",
    )
    parser.add_argument(
        "--schema-path", help="JSON Schema registered under <topic>-value (default: schemas/<dataset>.json)"
    )
    parser.add_argument("--rows", type=int, help="records per pass (default: all)")
    parser.add_argument(
        "--streaming-interval", type=float, default=0.0, help="seconds between two records (default: 0)"
    )
    repeat = parser.add_mutually_exclusive_group()
    repeat.add_argument(
        "--loop", action="store_true", help="repeat the pass until Ctrl-C, re-sending the records (default: one pass)"
    )
    repeat.add_argument(
        "--checkpoint",
        help="file of delivered keys and offsets: a re-run skips them and whatever the topic holds past them, so "
        "a run killed at any moment resumes with each record on the topic once",
    )
    parser.add_argument(
        "--quarantine", help="rejected records go here (default: .out/quarantine/produce-<topic>.jsonl)"
    )


def _shown(path: Path) -> str:
    if REPO_ROOT is not None and path.is_relative_to(REPO_ROOT):
        return str(path.relative_to(REPO_ROOT))
    return str(path)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from contract.outputs import read_outputs

    console = Console(stderr=True, soft_wrap=True)  # one line per message, even in a pipe
    outputs: dict[str, Any] | None = None
    if args.stack or args.outputs:
        outputs = dict(read_outputs(stack=args.stack, outputs_file=args.outputs))
    try:
        settings = settings_from_args(args, outputs)
    except ProducerSetupError as exc:
        console.print(f"[red]produce:[/] {exc}")
        return 2
    console.print(
        f"[bold]produce[/] {_shown(settings.source_path)} -> {settings.topic} "
        f"({'loop' if settings.loop else 'one pass'}{f', {settings.rows} rows' if settings.rows else ''})"
    )

    def progress(r: ProduceReport) -> None:
        console.print(f"  read {r.read:,}  sent {r.sent:,}  rejected {r.rejected:,}", highlight=False)

    report = produce(settings, on_progress=progress)
    console.print(
        f"{report.topic}: delivered {report.delivered:,}, failed {report.failed:,}, rejected {report.rejected:,} "
        f"of {report.read:,} read in {report.passes} pass(es), {report.seconds:.1f}s"
        + (f"; {report.skipped:,} skipped (already delivered, checkpoint)" if report.skipped else "")
    )
    for reason in report.reasons:
        console.print(f"  [yellow]rejected[/] {reason}", highlight=False)
    for error in report.errors:
        console.print(f"  [red]delivery failed[/] {error}", highlight=False)
    if report.quarantine:
        console.print(f"  rejected and undelivered records: {report.quarantine}")
    if report.interrupted:
        return 130
    return 0 if report.failed == 0 and report.rejected == 0 and report.undelivered == 0 else 1
