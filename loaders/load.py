"""Load converted JSON lines into one sink, in batches or as a stream (one record at a time, paced, and with
`loop` over and over until Ctrl-C: a live feed), with a progress bar, per-record failures quarantined, and a
report: read = written + skipped + failed.

Every record is checked against its dataset's schema (loaders.validate) before it joins a batch, whatever the
target: one that is not JSON, has a field of the wrong type, lacks a required or key field or carries a field
the schema does not know goes to the quarantine (file, line, key, field, reason) and never reaches the sink, so
it cannot overwrite what is stored; the rest of its batch is written."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from contract.kafka_auth import kafka_auth_config
from contract.outputs import StackOutputs
from loaders.background import read_ahead
from loaders.batching import Documents, Lanes, queue_block, send_block
from loaders.progress import Bar
from loaders.quarantine import Quarantine
from loaders.sinks.base import (
    BatchResult,
    JsonSink,
    LoadError,
    NameMap,
    Record,
    Sink,
    TargetUnreachable,
    output_name,
)
from loaders.source import checked_blocks, count_lines, parse_line, read_byte_lines, source_file, source_lines
from loaders.validate import RecordValidator
from schemas import load as load_schema

__all__ = [
    "OUTPUT_MAPS",
    "TARGETS",
    "LoadError",
    "LoadReport",
    "TargetUnreachable",
    "load_dataset",
    "open_sink",
    "parse_line",
    "source_file",
]

TARGETS = ("mongodb", "firestore", "dynamodb", "kafka")
#: target -> the outputs' map of dataset id to its collection, table or topic there
OUTPUT_MAPS: dict[str, NameMap] = {
    "mongodb": "mongodb_collections",
    "firestore": "firestore_collections",
    "dynamodb": "dynamodb_tables",
    "kafka": "kafka_topics",
}
BATCH_SIZE = 500
#: rejection and delivery reasons a report keeps for its summary (all of them are in the quarantine)
REASONS_SHOWN = 5


@dataclass
class LoadReport:
    target: str
    dataset: str
    where: str = ""
    read: int = 0
    written: int = 0
    skipped: int = 0
    failed: int = 0  # rejected, or not written (Kafka: not delivered, and not on the topic)
    rejected: int = 0  # of `failed`: refused before the sink saw them (not JSON, or not fitting the schema)
    seconds: float = 0.0
    quarantine: str | None = None
    in_target: int | None = None
    passes: int = 0
    interrupted: bool = False  # Ctrl-C: what was sent was settled and counted first
    reasons: list[str] = field(default_factory=list)  # the first few "file:line: reason"

    @property
    def ok(self) -> bool:
        return self.failed == 0


def open_sink(target: str, dataset: str, outputs: StackOutputs, state_dir: Path | None, verbose: bool = False) -> Sink:
    """The target's sink for `dataset`; LoadError naming the outputs key (e.g. `mongodb_collections.cards`) when
    the outputs have no name for it, TargetUnreachable naming service and address when its server is down.
    `state_dir`: where Kafka's checkpoint is kept (None: no checkpoint, every record is sent)."""
    if target in OUTPUT_MAPS and target != "dynamodb":  # DynamoDB's own message names the stack config to change
        output_name(outputs, OUTPUT_MAPS[target], dataset)
    if target == "mongodb":
        from loaders.sinks.mongodb import MongoSink

        return MongoSink(dataset, outputs)
    if target == "firestore":
        from loaders.sinks.firestore import FirestoreSink

        return FirestoreSink(dataset, outputs)
    if target == "dynamodb":
        from loaders.sinks.dynamodb import DynamoDbSink, NoTableError

        try:
            return DynamoDbSink(dataset, outputs)
        except NoTableError as exc:
            raise LoadError(str(exc)) from None
    if target == "kafka":
        return _kafka_sink(dataset, outputs, state_dir, verbose)
    raise LoadError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")


def _kafka_sink(dataset: str, outputs: StackOutputs, state_dir: Path | None, verbose: bool) -> Sink:
    from loaders.sinks.kafka import KafkaSink, topic_id

    topic = output_name(outputs, "kafka_topics", dataset)
    if state_dir is None:
        return KafkaSink(dataset, outputs, verbose=verbose)
    folder = state_dir

    def checkpoint() -> Path:
        """One checkpoint per incarnation of the topic: after a re-creation everything is sent again."""
        settings = kafka_auth_config(outputs)
        incarnation = topic_id(outputs["kafka_bootstrap_servers"], topic, verbose=verbose, client_settings=settings)
        return folder / f"kafka-{topic}-{incarnation}.delivered"

    return KafkaSink(dataset, outputs, checkpoint=checkpoint, verbose=verbose)


def load_dataset(
    target: str,
    dataset: str,
    outputs: StackOutputs,
    source_dir: Path,
    rows: int | None = None,
    mode: str = "batch",
    interval: float = 0.0,
    progress: bool = True,
    count: bool = True,
    verbose: bool = False,
    lanes: int | None = None,
    *,
    loop: bool = False,
    checkpoint: bool = True,
) -> LoadReport:
    """Load `source_dir/<dataset>.jsonl` (the first `rows` lines) into `target`, named by the stack outputs;
    `count`: then count what the target holds (`in_target`; for DynamoDB a full table scan); `verbose`: the
    client libraries' own logs (librdkafka's) on stderr; `lanes`: batches written at once instead of the sink's
    own choice (`Sink.lanes`); `loop`: pass over the file again and again until Ctrl-C (which, like the end,
    settles what was sent before the report); `checkpoint`: Kafka skips what an earlier run delivered (a killed
    run resumes, each record on the topic once). A loop re-sends its records, so it keeps no checkpoint."""
    if target not in TARGETS:
        raise LoadError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    if lanes is not None and lanes < 1:
        raise LoadError(f"lanes must be 1 or more, not {lanes}")
    if mode not in ("batch", "streaming"):
        raise LoadError(f"unknown mode {mode!r}; choose batch or streaming")
    path = source_file(source_dir, dataset)
    # the bar's total only: counting reads the whole file once more (12 ms of a 100k Kafka load's 0.23 s)
    total = 0 if not progress else count_lines(path) if rows is None else min(rows, count_lines(path))
    state_dir = source_dir / "_state" if checkpoint and not loop else None
    sink = open_sink(target, dataset, outputs, state_dir, verbose)
    run = _Load(sink, RecordValidator(load_schema(dataset)), path, rows, target, progress, total)
    try:
        run.passes(mode, interval, lanes, loop)
        run.report.in_target = sink.count() if count and not run.report.interrupted else None
    finally:
        run.close()
    return run.report


class _Load:
    """One load's state: the sink, the source, the quarantine, the bar and the report they all count into."""

    def __init__(
        self, sink: Sink, validator: RecordValidator, path: Path, rows: int | None, target: str, bar: bool, total: int
    ) -> None:
        self.sink, self.validator, self.path, self.rows = sink, validator, path, rows
        dataset = validator.schema.dataset
        self.report = LoadReport(target, dataset, where=sink.where)
        self.quarantine = Quarantine(path.parent / "_rejected" / f"load-{target}-{dataset}.jsonl")
        self.bar = Bar(bar, f"{dataset} → {target}", total)
        self.started = time.monotonic()

    def passes(self, mode: str, interval: float, lanes: int | None, loop: bool) -> None:
        """Pass over the source (again and again with `loop`), then settle what is in flight; Ctrl-C settles too."""
        size = 1 if mode == "streaming" else BATCH_SIZE
        documents = Documents.of(self.sink, self.validator) if mode == "batch" else None
        own_lanes: int = getattr(self.sink, "lanes", 1)
        lane_count = 1 if mode == "streaming" else own_lanes if lanes is None else lanes
        write = self.sink.write if documents is None else documents.sink.write_documents
        writers = Lanes(write, lane_count, size, self.account, self.validator.schema.document_id)
        try:
            try:
                while True:
                    self.report.passes += 1
                    if mode == "batch":
                        self.batch_pass(writers, documents)
                    else:
                        self.stream_pass(writers, interval)
                    if not loop:
                        break
            except KeyboardInterrupt:
                self.report.interrupted = True
            writers.drain()
            self.account([], self.sink.finish())
        finally:
            writers.close()

    def batch_pass(self, writers: Lanes, documents: Documents | None) -> None:
        """The next block is read and checked (the kernel releases the GIL) while this one is sent."""
        json_sink = self.sink if isinstance(self.sink, JsonSink) else None
        prefix = json_sink.json_prefix if json_sink else b""
        check = documents.check if documents else partial(self.validator.accepted_block, prefix=prefix)
        for block in read_ahead(checked_blocks(self.path, self.rows, check), name="load-checker"):
            if json_sink is not None:
                send_block(json_sink, block, self.count_read, self.account, self.checked)
            else:
                queue_block(writers, block, self.count_read, self.checked, documents)

    def stream_pass(self, writers: Lanes, interval: float) -> None:
        for number, line in read_byte_lines(self.path, self.rows):
            self.report.read += 1
            # most lines are certainly valid; the others are parsed and checked in full, maybe quarantined
            record = self.validator.accepted(line)
            if record is None and (record := self.checked(number, line)) is None:
                continue
            if writers.add(number, record) and interval:
                time.sleep(interval)

    def count_read(self, lines: int) -> None:
        self.report.read += lines

    def account(self, batch: list[tuple[int, Record]], result: BatchResult, size: int | None = None) -> None:
        """Count a sink's result for `batch` (or for `size` lines sent as they are, none of them in `batch`)."""
        self.report.written += result.written
        self.report.skipped += result.skipped
        self.report.failed += len(result.failed)
        if result.failed:
            self.quarantine_failed(batch, result.failed)
        self.bar.advance(len(batch) if size is None else size)

    def quarantine_failed(self, batch: list[tuple[int, Record]], failed: list[tuple[Record, str]]) -> None:
        """Each failed record to the quarantine with its source line: that of the record itself, or of the one its
        document (DocumentSink) was made of; a record queued from a checked block has none, found by its key."""
        key_of = self.validator.key_of
        numbered = [(number, record) for number, record in batch if number]
        lines = {id(record): number for number, record in numbered}
        keyed = {key_of(record): number for number, record in numbered}
        late = {key for r, _ in failed if id(r) not in lines and (key := key_of(r)) not in keyed}
        late_lines = source_lines(self.path, self.rows, self.validator, late) if late else {}
        for record, reason in failed:
            key = key_of(record)
            number = lines.get(id(record)) or keyed.get(key) or late_lines.get(key or "")
            self.quarantine.add(self.path, number, reason, record, key)
            self.keep_reason(number, reason)

    def checked(self, number: int, line: bytes) -> Record | None:
        """The line's record if it fits the schema; else None, and it is quarantined with the reason."""
        try:
            record = parse_line(line)
        except json.JSONDecodeError as exc:
            text = line.decode("utf-8", errors="replace").rstrip("\n")
            self.reject(number, f"not JSON: {exc.msg} at column {exc.colno}", text, None, None)
            return None
        violation = self.validator.check(record)
        if violation is None:
            return record  # type: ignore[no-any-return]
        reason = f"{self.validator.schema.title}: {violation}"
        self.reject(number, reason, record, self.validator.key_of(record), violation.field)
        return None

    def reject(self, number: int, reason: str, record: object, key: str | None, field: str | None) -> None:
        self.report.failed += 1
        self.report.rejected += 1
        self.quarantine.add(self.path, number, reason, record, key, field)
        self.keep_reason(number, reason)
        self.bar.advance(1)

    def keep_reason(self, number: int | None, reason: str) -> None:
        if len(self.report.reasons) < REASONS_SHOWN:
            self.report.reasons.append(f"{self.path.name}:{number}: {reason}")

    def close(self) -> None:
        self.bar.stop()
        try:
            self.sink.close()
        finally:
            self.quarantine.close()
            self.report.seconds = time.monotonic() - self.started
            if self.report.failed:
                self.report.quarantine = str(self.quarantine.path)
