"""How the load loop hands records to a sink: a checked block's certainly valid lines sent as they are (a
JsonSink) or queued as records or documents, and the lanes that write batches from several threads at once."""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import cast

import orjson

from loaders.sinks.base import BatchResult, BsonDocumentSink, DocumentSink, JsonSink, Record, Sink
from loaders.validate import AcceptedBlock, RecordValidator

#: counts a sink's result for a batch (or for `size` lines sent as they are); the load's report keeps the sums
Account = Callable[..., None]
#: the full check of one line: its record, or None once it is quarantined
Check = Callable[[int, bytes], Record | None]


def send_block(
    sink: JsonSink,
    block: AcceptedBlock,
    read: Callable[[int], None],
    account: Account,
    checked: Check,
) -> None:
    """The block's certainly valid lines sent as they are; in source order between them, each line left to
    the full check, which may send it parsed or quarantine it."""
    ids, bodies, left, _lines = block
    read(len(ids) + len(left))
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


def queue_block(
    lanes: Lanes,
    block: AcceptedBlock,
    read: Callable[[int], None],
    checked: Check,
    documents: Documents | None,
) -> None:
    """The block's certainly valid lines parsed (orjson: the check is done, and it is faster than msgspec's
    struct and dict decodes) and queued, each line left to the full check in its place. For a DocumentSink, each
    queued as its document."""
    ids, bodies, left, _lines = block
    read(len(bodies) + len(left))
    queue = documents.queue if documents else queue_records
    queued = 0
    for number, before, line in left:
        queue(lanes, ids[queued:before], bodies[queued:before])
        queued = before
        record = checked(number, line)
        if record is not None:
            lanes.add(number, record if documents is None else documents.sink.document(record))
    queue(lanes, ids[queued:], bodies[queued:])


def queue_records(lanes: Lanes, _ids: list[bytes], bodies: list[bytes]) -> None:
    for body in bodies:
        lanes.add(0, orjson.loads(body))


@dataclass(frozen=True)
class Documents:
    """How a DocumentSink's documents are made of the lines the validator accepted: as BSON by the compiled
    check, for a sink whose client sends BSON as it is (MongoDB), else parsed from the line's JSON with the
    id spliced in (BSON from the compiled check saves the load's own CPU)."""

    sink: DocumentSink
    validator: RecordValidator
    bson: bool

    @classmethod
    def of(cls, sink: Sink, validator: RecordValidator) -> Documents | None:
        if not isinstance(sink, DocumentSink):
            return None
        bson = isinstance(sink, BsonDocumentSink) and validator.encodes_documents(sink.id_field)
        return cls(sink, validator, bson)

    def check(self, block: bytes, first_line: int, limit: int) -> AcceptedBlock:
        if self.bson:
            return self.validator.accepted_documents(block, first_line, limit, self.sink.id_field)
        return self.validator.accepted_block(block, first_line, limit)

    def queue(self, lanes: Lanes, ids: list[bytes], bodies: list[bytes]) -> None:
        """Accepted records queued as documents, the lane chosen by the id's bytes. From JSON: the id spliced in
        as the object's first field (a body starts with its `{`; a plain id needs no escaping), parsed once."""
        if self.bson:
            for key, doc in zip(ids, cast(BsonDocumentSink, self.sink).from_bson(bodies), strict=True):
                lanes.add(0, doc, key)
            return
        head = b'{"%b":"' % self.sink.id_field.encode()
        for key, body in zip(ids, bodies, strict=True):
            lanes.add(0, orjson.loads(b'%b%b",%b' % (head, key, body[1:])), key)


class Lanes:
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
