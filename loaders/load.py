"""Load converted JSON lines into one sink, in batches (or one record at a time for a live-feed demo), with a
progress bar, per-record failures quarantined, and a report: read = written + skipped + failed.

Every record is checked against its dataset's schema (loaders.validate) before it joins a batch, whatever the
target: one that is not JSON, has a field of the wrong type, lacks a required or key field or carries a field
the schema does not know goes to the quarantine (file, line, key, field, reason) and never reaches the sink, so
it cannot overwrite what is stored; the rest of its batch is written."""

from __future__ import annotations

import json
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any, cast

import msgspec
import orjson

from contract.kafka_auth import kafka_auth_config
from loaders.background import read_ahead
from loaders.sinks.base import (
    BatchResult,
    BsonDocumentSink,
    DocumentSink,
    JsonSink,
    LoadError,
    Record,
    Sink,
    TargetUnreachable,
    output_name,
)
from loaders.validate import AcceptedBlock, RecordValidator
from schemas import load as load_schema

__all__ = ["OUTPUT_MAPS", "TARGETS", "LoadError", "LoadReport", "TargetUnreachable", "load_dataset"]

TARGETS = ("mongodb", "firestore", "dynamodb", "kafka")
#: target -> the outputs' map of dataset id to its collection, table or topic there
OUTPUT_MAPS = {
    "mongodb": "mongodb_collections",
    "firestore": "firestore_collections",
    "dynamodb": "dynamodb_tables",
    "kafka": "kafka_topics",
}
BATCH_SIZE = 500
#: bytes of source lines checked at once for a sink that sends JSON as it is (about 5,000 transactions)
BLOCK_BYTES = 1 << 20


@dataclass
class LoadReport:
    target: str
    dataset: str
    where: str = ""
    read: int = 0
    written: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    quarantine: str | None = None
    in_target: int | None = None

    @property
    def ok(self) -> bool:
        return self.failed == 0


def open_sink(target: str, dataset: str, outputs: dict[str, Any], state_dir: Path, verbose: bool = False) -> Sink:
    """The target's sink for `dataset`; LoadError naming the outputs key (e.g. `mongodb_collections.cards`) when
    the outputs have no name for it, TargetUnreachable naming service and address when its server is down."""
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
        from loaders.sinks.kafka import KafkaSink, topic_id

        topic = output_name(outputs, "kafka_topics", dataset)

        def checkpoint() -> Path:
            """One checkpoint per incarnation of the topic: after a re-creation everything is sent again."""
            settings = kafka_auth_config(outputs)
            incarnation = topic_id(outputs["kafka_bootstrap_servers"], topic, verbose=verbose, client_settings=settings)
            return state_dir / f"kafka-{topic}-{incarnation}.delivered"

        return KafkaSink(dataset, outputs, checkpoint=checkpoint, verbose=verbose)
    raise LoadError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")


def source_file(source_dir: Path, dataset: str) -> Path:
    path = source_dir / f"{dataset}.jsonl"
    if not path.exists():
        raise LoadError(f"{path}: no such file; convert first: python -m loaders convert SOURCE_DIR {source_dir}")
    return path


def count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def read_lines(path: Path, rows: int | None) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if rows is not None and number > rows:
                return
            if line.strip():
                yield number, line


def read_byte_lines(path: Path, rows: int | None) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if rows is not None and number > rows:
                return
            if line.strip():
                yield number, line


def parse_line(line: bytes) -> Any:
    """The JSON value of a source line: msgspec (about 2x the standard library, integers of any size exact), and
    the standard library where msgspec refuses, so what is accepted (NaN, 1E400, lone surrogates, bytes that
    are not UTF-8 replaced by U+FFFD) and the JSONDecodeError naming the column stay the standard library's."""
    try:
        return _DECODER.decode(line)
    except msgspec.MsgspecError:
        return json.loads(line.decode("utf-8", errors="replace"))


_DECODER = msgspec.json.Decoder()


def source_lines(path: Path, rows: int | None, validator: RecordValidator, keys: set[str | None]) -> dict[str, int]:
    """The source line of each record named by key: for failures a sink reports after their batch has gone."""
    found: dict[str, int] = {}
    for number, text in read_lines(path, rows):
        try:
            key = validator.key_of(json.loads(text))
        except json.JSONDecodeError:
            continue
        if key in keys and key is not None:
            found.setdefault(key, number)
    return found


class _Quarantine:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh: IO[str] | None = None
        path.unlink(missing_ok=True)

    def add(
        self, source: Path, line: int | None, reason: str, record: Any, key: str | None = None, field: str | None = None
    ) -> None:
        if self.fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = self.path.open("w", encoding="utf-8")
        entry = {"file": str(source), "line": line, "key": key, "field": field, "reason": reason, "record": record}
        self.fh.write(json.dumps(entry, default=str) + "\n")

    def close(self) -> None:
        if self.fh:
            self.fh.close()


def load_dataset(
    target: str,
    dataset: str,
    outputs: dict[str, Any],
    source_dir: Path,
    rows: int | None = None,
    mode: str = "batch",
    interval: float = 0.0,
    progress: bool = True,
    count: bool = True,
    verbose: bool = False,
    lanes: int | None = None,
) -> LoadReport:
    """Load `source_dir/<dataset>.jsonl` (the first `rows` lines) into `target`, named by the stack outputs;
    `count`: then count what the target holds (`in_target`; for DynamoDB a full table scan); `verbose`: the
    client libraries' own logs (librdkafka's) on stderr; `lanes`: batches written at once instead of the sink's
    own choice (`Sink.lanes`)."""
    if target not in TARGETS:
        raise LoadError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    if lanes is not None and lanes < 1:
        raise LoadError(f"lanes must be 1 or more, not {lanes}")
    if mode not in ("batch", "streaming"):
        raise LoadError(f"unknown mode {mode!r}; choose batch or streaming")
    path = source_file(source_dir, dataset)
    # the bar's total only: counting reads the whole file once more (12 ms of a 100k Kafka load's 0.23 s)
    total = 0 if not progress else count_lines(path) if rows is None else min(rows, count_lines(path))
    schema = load_schema(dataset)
    validator = RecordValidator(schema)
    sink = open_sink(target, dataset, outputs, source_dir / "_state", verbose)
    report = LoadReport(target, dataset, where=sink.where)
    quarantine = _Quarantine(source_dir / "_rejected" / f"load-{target}-{dataset}.jsonl")
    started = time.monotonic()
    size = 1 if mode == "streaming" else BATCH_SIZE

    def account(batch: list[tuple[int, Record]], result: BatchResult, size: int | None = None) -> None:
        """Count a sink's result for `batch` (or for `size` lines sent as they are, none of them in `batch`)."""
        report.written += result.written
        report.skipped += result.skipped
        report.failed += len(result.failed)
        if result.failed:  # a record queued from a checked block has no line number: found by its key
            numbered = [(number, record) for number, record in batch if number]
            # the record itself, or the one its document (DocumentSink) was made of
            lines = {id(record): number for number, record in numbered}
            keyed = {validator.key_of(record): number for number, record in numbered}
            late = {  # Kafka's delivery reports, records queued from checked blocks
                key for r, _ in result.failed if id(r) not in lines and (key := validator.key_of(r)) not in keyed
            }
            late_lines = source_lines(path, rows, validator, late) if late else {}
            for record, reason in result.failed:
                key = validator.key_of(record)
                number = lines.get(id(record)) or keyed.get(key) or late_lines.get(key or "")
                quarantine.add(path, number, reason, record, key)
        bar.advance(len(batch) if size is None else size)

    def checked(number: int, line: bytes) -> Record | None:
        """The line's record if it fits the schema; else None, and it is quarantined with the reason."""
        try:
            record = parse_line(line)
        except json.JSONDecodeError as exc:
            report.failed += 1
            text = line.decode("utf-8", errors="replace").rstrip("\n")
            quarantine.add(path, number, f"not JSON: {exc.msg} at column {exc.colno}", text)
            return None
        violation = validator.check(record)
        if violation is None:
            return record  # type: ignore[no-any-return]
        report.failed += 1
        reason = f"{validator.schema.title}: {violation}"
        quarantine.add(path, number, reason, record, validator.key_of(record), violation.field)
        bar.advance(1)
        return None

    bar = _progress(progress, f"{dataset} → {target}", total)
    documents = _Documents.of(sink, validator) if mode == "batch" else None
    own_lanes: int = getattr(sink, "lanes", 1)
    lane_count = 1 if mode == "streaming" else own_lanes if lanes is None else lanes
    write = sink.write if documents is None else documents.sink.write_documents
    writers = _Lanes(write, lane_count, size, account, schema.document_id)
    try:
        if mode == "batch":
            # the next block is read and checked (the kernel releases the GIL) while this one is sent
            json_sink = sink if isinstance(sink, JsonSink) else None
            prefix = json_sink.json_prefix if json_sink else b""
            check = documents.check if documents else partial(validator.accepted_block, prefix=prefix)
            for block in read_ahead(checked_blocks(path, rows, check), name="load-checker"):
                if json_sink is not None:
                    _send_block(json_sink, block, report, account, checked)
                else:
                    _queue_block(writers, block, report, checked, documents)
        else:
            for number, line in read_byte_lines(path, rows):
                report.read += 1
                # most lines are certainly valid; the others are parsed and checked in full, maybe quarantined
                record = validator.accepted(line)
                if record is None and (record := checked(number, line)) is None:
                    continue
                if writers.add(number, record) and interval:
                    time.sleep(interval)
        writers.drain()
        account([], sink.finish())
        report.in_target = sink.count() if count else None
    finally:
        writers.close()
        bar.stop()
        sink.close()
        quarantine.close()
    report.seconds = time.monotonic() - started
    if report.failed:
        report.quarantine = str(quarantine.path)
    return report


def line_blocks(path: Path, size: int = BLOCK_BYTES) -> Iterator[bytes]:
    """The file in blocks of whole lines of about `size` bytes (the last may lack its line break)."""
    carry = b""
    with path.open("rb") as fh:
        while data := fh.read(size):
            block = carry + data
            cut = block.rfind(b"\n") + 1
            if cut:  # else a line longer than the block: read on
                yield block[:cut]
                carry = block[cut:]
            else:
                carry = block
    if carry:
        yield carry


def checked_blocks(
    path: Path, rows: int | None, check: Callable[[bytes, int, int], AcceptedBlock]
) -> Iterator[AcceptedBlock]:
    """The first `rows` lines of the file (all: None) in blocks, as `check(block, first line, limit)` finds them
    (the validator's `accepted_block` or `accepted_documents`)."""
    number = 1
    for block in line_blocks(path):
        if rows is not None and number > rows:
            return
        limit = len(block) if rows is None else rows - number + 1
        checked = check(block, number, limit)
        yield checked
        number += checked[3]


def _send_block(
    sink: JsonSink,
    block: AcceptedBlock,
    report: LoadReport,
    account: Callable[..., None],
    checked: Callable[[int, bytes], Record | None],
) -> None:
    """The block's certainly valid lines sent as they are; in source order between them, each line left to
    the full check, which may send it parsed or quarantine it."""
    ids, bodies, left, _lines = block
    report.read += len(ids) + len(left)
    sent = 0
    for number, before, line in left:
        if before > sent:
            account([], sink.write_json(ids[sent:before], bodies[sent:before]), before - sent)
            sent = before
        record = checked(number, line)
        if record is not None:
            account([(number, record)], sink.write([record]))
    if sent < len(ids):
        account([], sink.write_json(ids[sent:], bodies[sent:]), len(ids) - sent)


def _queue_block(
    lanes: _Lanes,
    block: AcceptedBlock,
    report: LoadReport,
    checked: Callable[[int, bytes], Record | None],
    documents: _Documents | None,
) -> None:
    """The block's certainly valid lines parsed (orjson: the check is done) and queued, each line left to the
    full check in its place: 1.4 µs a line where msgspec's struct and dict decodes took 3.0 µs. For a
    DocumentSink, each queued as its document."""
    ids, bodies, left, _lines = block
    report.read += len(bodies) + len(left)
    queue = documents.queue if documents else _queue_records
    queued = 0
    for number, before, line in left:
        queue(lanes, ids[queued:before], bodies[queued:before])
        queued = before
        record = checked(number, line)
        if record is not None:
            lanes.add(number, record if documents is None else documents.sink.document(record))
    queue(lanes, ids[queued:], bodies[queued:])


def _queue_records(lanes: _Lanes, _ids: list[bytes], bodies: list[bytes]) -> None:
    for body in bodies:
        lanes.add(0, orjson.loads(body))


@dataclass(frozen=True)
class _Documents:
    """How a DocumentSink's documents are made of the lines the validator accepted: as BSON by the compiled
    check, for a sink whose client sends BSON as it is (MongoDB), else parsed from the line's JSON with the
    id spliced in: the load's own CPU for 100k transactions 1.20 s vs 1.59 s."""

    sink: DocumentSink
    validator: RecordValidator
    bson: bool

    @classmethod
    def of(cls, sink: Sink, validator: RecordValidator) -> _Documents | None:
        if not isinstance(sink, DocumentSink):
            return None
        bson = isinstance(sink, BsonDocumentSink) and validator.encodes_documents(sink.id_field)
        return cls(sink, validator, bson)

    def check(self, block: bytes, first_line: int, limit: int) -> AcceptedBlock:
        if self.bson:
            return self.validator.accepted_documents(block, first_line, limit, self.sink.id_field)
        return self.validator.accepted_block(block, first_line, limit)

    def queue(self, lanes: _Lanes, ids: list[bytes], bodies: list[bytes]) -> None:
        """Accepted records queued as documents, the lane chosen by the id's bytes. From JSON: the id spliced in
        as the object's first field (a body starts with its `{`; a plain id needs no escaping), parsed once."""
        if self.bson:
            for key, doc in zip(ids, cast(BsonDocumentSink, self.sink).from_bson(bodies), strict=True):
                lanes.add(0, doc, key)
            return
        head = b'{"%b":"' % self.sink.id_field.encode()
        for key, body in zip(ids, bodies, strict=True):
            lanes.add(0, orjson.loads(b'%b%b",%b' % (head, key, body[1:])), key)


class _Lanes:
    """Batches written by `lanes` threads at once, the way a server's ceiling is reached (one connection waits
    on the network and the server most of the time). A record's lane is chosen by its key, and each lane is one
    thread writing its batches in order, so two versions of a key are written in source order: the last one
    stays, as in a single-threaded load. One lane is written in the caller's thread (Kafka's sink, streaming
    mode). At most two batches per lane wait or fly, so memory stays bounded."""

    def __init__(
        self,
        write: Callable[[list[Record]], BatchResult],
        lanes: int,
        size: int,
        account: Callable[[list[tuple[int, Record]], BatchResult], None],
        key_of: Callable[[Record], str],
    ) -> None:
        self.write, self.size, self.account, self.key_of = write, size, account, key_of
        self.batches: list[list[tuple[int, Record]]] = [[] for _ in range(lanes)]
        one_each = range(lanes) if lanes > 1 else range(0)  # a single lane is written in the caller's thread
        self.threads = [ThreadPoolExecutor(1, thread_name_prefix=f"load-lane-{n}") for n in one_each]
        self.pending: deque[tuple[list[tuple[int, Record]], Future[BatchResult]]] = deque()
        self.limit = 2 * lanes

    def add(self, number: int, record: Record, key: bytes | None = None) -> bool:
        """Queue `record` (valid: it has its key; `key`: its id in UTF-8 when known); True when that filled its
        lane's batch and sent it."""
        if len(self.batches) == 1:
            lane = 0
        else:
            lane = zlib.crc32(self.key_of(record).encode() if key is None else key) % len(self.batches)
        batch = self.batches[lane]
        batch.append((number, record))
        if len(batch) < self.size:
            return False
        self.batches[lane] = []
        self._send(lane, batch)
        return True

    def _send(self, lane: int, batch: list[tuple[int, Record]]) -> None:
        records = [record for _, record in batch]
        if not self.threads:
            self.account(batch, self.write(records))
            return
        self.pending.append((batch, self.threads[lane].submit(self.write, records)))
        while self.pending and (len(self.pending) > self.limit or self.pending[0][1].done()):
            self._settle_oldest()

    def _settle_oldest(self) -> None:
        batch, future = self.pending.popleft()
        self.account(batch, future.result())

    def drain(self) -> None:
        """Send the part-filled batches and wait for every lane."""
        for lane, batch in enumerate(self.batches):
            if batch:
                self.batches[lane] = []
                self._send(lane, batch)
        while self.pending:
            self._settle_oldest()

    def close(self) -> None:
        for thread in self.threads:
            thread.shutdown(wait=True, cancel_futures=True)


class _Bar:
    def __init__(self, enabled: bool, label: str, total: int) -> None:
        self.progress: Any = None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("[cyan]{task.fields[rate]}"),
                TimeRemainingColumn(),
                transient=False,
            )
            self.task = self.progress.add_task(label, total=total, rate="")
            self.started = time.monotonic()
            self.done = 0
            self.progress.start()

    def advance(self, n: int) -> None:
        if self.progress is not None:
            self.done += n
            rate = self.done / max(time.monotonic() - self.started, 1e-6)
            self.progress.update(self.task, advance=n, rate=f"{rate:,.0f} rec/s")

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _progress(enabled: bool, label: str, total: int) -> _Bar:
    return _Bar(enabled, label, total)
