"""The loaders' Kafka producer: key = the record's id, idempotent with acks=all, values framed under the
topic's registered JSON Schema (loaders.sinks.kafka_framing). Every record is validated against the schema
before it is serialized, by the loaders' one validator (loaders.validate): the serializer's own jsonschema
validation costs more than the rest of the produce path; it is switched off.

A broker that does not answer is found by a metadata request within KAFKA_TIMEOUT_S (TargetUnreachable, one
line naming the address), not after librdkafka's minutes of retries; librdkafka's own log lines stay off the
screen unless `verbose`. Every librdkafka handle it opens is closed on every way out, a failed start included.

Exactly once across runs (loaders.sinks.kafka_checkpoint): a checkpoint of delivered keys, committed after a
flush (at the end, and every COMMIT_EVERY_S), plus, before anything is sent, the partitions' tails past it
(what a killed run had delivered but not committed), so a load killed at any moment resumes without sending a
key twice. librdkafka reports only failed deliveries (`delivery.report.only.error`): a Python callback per
acknowledged record, and its checkpoint line, were a quarter of a 100k load in py-spy, and made the load 3x
slower than the broker's own pace. A delivery error is an unknown outcome, not a failure: before the summary
the records with one are looked for on the topic (from where this run began); only those it does not hold
fail, each named by key (and source line, when the caller gave it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

from confluent_kafka import KafkaException

from contract.errors import kafka_error_text
from loaders.sinks.base import unreachable
from loaders.sinks.kafka_checkpoint import Checkpoint, TopicReader, TopicUnreadable
from loaders.sinks.kafka_framing import RecordRejected, RegistryFraming
from loaders.validate import RecordValidator
from schemas import DatasetSchema

#: seconds a request to the broker may take before the broker counts as unreachable
KAFKA_TIMEOUT_S = 10
#: a message not acknowledged within this many seconds fails (librdkafka's default is 300)
MESSAGE_TIMEOUT_S = 30
#: sends between two polls for delivery reports: a poll per send was a large share of a load's time in py-spy
POLL_EVERY = 64
#: sent keys buffered before they go to the checkpoint's open section
KEYS_BLOCK = 4096
#: seconds between two commits of the checkpoint (each waits for what is in flight): a kill loses at most
#: this much of the checkpoint, which the next run reads back from the topic's tail
COMMIT_EVERY_S = 1.0


#: librdkafka waits reconnect.backoff.ms / 2 (default 50 ms) before it connects to the broker the bootstrap
#: server named: of a load's start-up (topic id, metadata, watermarks: four clients), 200 ms of 100k's 0.6 s
FAST_RECONNECT = {"reconnect.backoff.ms": 10}


def quiet(verbose: bool) -> dict[str, Any]:
    """librdkafka settings that keep its own log lines (a line per failed connect, every second) off stderr;
    the load reports what went wrong in one line. `verbose`: librdkafka's defaults."""
    return {} if verbose else {"log_level": 0}


@dataclass(frozen=True)
class DeliveryCounts:
    delivered: int
    failed: int


@dataclass(frozen=True)
class DeliveryFailure:
    """A record the topic does not hold after its delivery failed: `origin` is where it came from (a source line)."""

    key: str
    record: dict[str, Any]
    origin: int | None
    reason: str


class SchemaRegistryJsonProducer:
    def __init__(
        self,
        bootstrap_servers: str,
        schema_registry_url: str,
        topic: str,
        schema: DatasetSchema,
        checkpoint: Path | Callable[[], Path] | None = None,
        linger_ms: int = 20,
        verbose: bool = False,
        client_settings: Mapping[str, Any] | None = None,
    ) -> None:
        """`client_settings`: what the brokers' authentication needs (contract.kafka_auth, e.g. MSK IAM);
        `checkpoint`: its file, or what names it (e.g. after the topic's id, asked of the broker)."""
        from confluent_kafka import Producer

        self.topic = topic
        self.schema = schema
        self.bootstrap_servers = bootstrap_servers
        self.validator = RecordValidator(schema)
        self._key = schema.document_id
        settings = {**FAST_RECONNECT, **quiet(verbose), **(client_settings or {})}
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": linger_ms,
                "compression.type": "lz4",
                "socket.timeout.ms": KAFKA_TIMEOUT_S * 1000,
                "message.timeout.ms": MESSAGE_TIMEOUT_S * 1000,
                "delivery.report.only.error": True,
                "on_delivery": self._on_error,
                **settings,
            }
        )
        # the start-up's round trips at once (metadata, the registry, the topic's id and tail): one after the
        # other they were a third of a 100k load's time
        pool = ThreadPoolExecutor(3, thread_name_prefix="kafka-start")
        topic_state: Future[tuple[TopicReader, Checkpoint | None, dict[int, int]]] | None = None
        try:
            metadata = pool.submit(self._connect)
            registry = pool.submit(RegistryFraming, schema_registry_url, topic, schema)
            topic_state = pool.submit(self._open_topic, settings, checkpoint)
            pool.shutdown(wait=True)
            metadata.result()
            self.framing = registry.result()
            self.reader, self.checkpoint, self.run_start = topic_state.result()
        except BaseException:  # a failed start or a Ctrl-C in it: what a thread opened is closed, not leaked
            pool.shutdown(wait=True)
            if topic_state is not None and topic_state.done() and topic_state.exception() is None:
                reader, state, _ = topic_state.result()
                reader.close()
                if state is not None:
                    state.close()
            # nothing was produced yet: without a close, librdkafka's threads go on reconnecting to a dead broker
            # (a line on stderr each time) until the garbage collector happens to find the handle
            self.producer.purge()
            self.producer.close()
            raise
        self.sent = 0
        self.delivered = 0  # as of the last flush
        self.failed = 0
        self.errors: list[str] = []
        self.failures: list[DeliveryFailure] = []
        self._unknown: dict[str, DeliveryFailure] = {}
        self._error_reports = 0
        self._found = 0  # records with a delivery error the topic holds all the same
        #: sent keys not yet written to the checkpoint, and keys not on the topic since its last commit
        self._keys: list[bytes] = []
        self._withdrawn: list[str] = []
        self._committed_at = time.monotonic()
        self._unpolled = 0

    def _connect(self) -> None:
        """The producer connects lazily: metadata now, so a dead broker is one line within seconds."""
        try:
            self.producer.list_topics(timeout=KAFKA_TIMEOUT_S)
        except KafkaException as exc:
            raise unreachable("kafka", self.bootstrap_servers, kafka_error_text(exc)) from None

    def _open_topic(
        self, settings: Mapping[str, Any], checkpoint: Path | Callable[[], Path] | None
    ) -> tuple[TopicReader, Checkpoint | None, dict[int, int]]:
        """The topic's reader, the checkpoint, and where this run begins (`_catch_up`)."""
        reader = TopicReader(self.bootstrap_servers, self.topic, settings)
        state = None
        try:
            path = checkpoint() if callable(checkpoint) else checkpoint
            state = Checkpoint(path) if path else None
            return reader, state, self._catch_up(reader, state)
        except BaseException:  # the caller gets no reader to close: its consumer handle is closed here
            reader.close()
            if state is not None:
                state.close()
            raise

    @property
    def done(self) -> set[str]:
        return self.checkpoint.done if self.checkpoint else set()

    def _catch_up(self, reader: TopicReader, checkpoint: Checkpoint | None) -> dict[int, int]:
        """The partitions' next offsets now, where this run begins; with a checkpoint, the keys the topic holds
        past it (delivered by a killed run after its last recorded acknowledgement) are recorded first."""
        try:
            ends = reader.end_offsets(KAFKA_TIMEOUT_S)
            run_start = {p: high for p, (_low, high) in ends.items()}
            if checkpoint is not None:
                # no checkpoint yet: no earlier run of this source, nothing to look for
                known = checkpoint.next_offsets if checkpoint.path.exists() else run_start
                checkpoint.open()
                tails = {p: (max(low, known.get(p, low)), high) for p, (low, high) in ends.items()}
                for key, partition, offset in reader.keys(tails):
                    checkpoint.add(key, partition, offset)
                checkpoint.mark(run_start)
                checkpoint.begin()
        except (TopicUnreadable, KafkaException) as exc:
            raise unreachable("kafka", self.bootstrap_servers, exc) from None
        return run_start

    def __enter__(self) -> SchemaRegistryJsonProducer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.flush()
        finally:
            if self.checkpoint:
                self.checkpoint.close()
            self.reader.close()
            # without a close, librdkafka's threads outlive the load until the garbage collector finds the handle
            self.producer.close()

    def send(self, record: dict[str, Any], validated: bool = False, origin: int | None = None) -> bool:
        """Serialize (validating against the schema, unless the caller has: `validated`) and send; False if the
        checkpoint has it already. `origin` (e.g. the source line) names the record if its delivery fails."""
        violation = None if validated else self.validator.check(record)
        if violation is not None:
            raise RecordRejected(f"{self.schema.title}: {violation}", violation.field)
        key = self._key(record)
        if key in self.done:
            return False
        value = self.framing.value(record)
        self._produce(key, value, origin)
        return True

    def send_json(self, key: str, body: bytes) -> bool:
        """Send a record's JSON as it is: `body` is a source line the caller found valid against the schema
        (loaders.validate's struct, integers within 64 bits), `key` its id; False if the checkpoint has it
        already. Parsing and encoding it again were half of the load's time per record."""
        if key in self.done:
            return False
        value = self.framing.value_of_json(body)
        self._produce(key, value, None)
        return True

    @property
    def json_prefix(self) -> bytes:
        """What every value starts with before the record's JSON: the registry's frame (b"" when the serializer
        must see each record)."""
        return self.framing.frame

    def send_block(self, ids: list[bytes], values: list[bytes]) -> int:
        """`send_json` for many records: ids (UTF-8) and values side by side, each value the record's JSON after
        `json_prefix`; returns how many the checkpoint has already (not sent). A Python loop around librdkafka's
        produce and nothing else, a poll every POLL_EVERY sends: as fast as producing ready bytes."""
        if not self.framing.frame:  # the serializer transforms records: every one goes through it
            return sum(not self.send_json(i.decode(), v) for i, v in zip(ids, values, strict=True))
        total = len(ids)
        if self.done:
            kept = [n for n, key in enumerate(ids) if key.decode() not in self.done]
            ids, values = [ids[n] for n in kept], [values[n] for n in kept]
        produce, poll, topic = self.producer.produce, self.producer.poll, self.topic
        at = 0
        while at < len(ids):
            start, end = at, min(at + POLL_EVERY, len(ids))
            try:
                for at in range(start, end):  # a full queue resumes from the record it refused
                    produce(topic, values[at], ids[at])
            except BufferError:  # local queue full: let deliveries drain, then retry from that record
                poll(0.5)
                continue
            at = end
            poll(0)
        self.sent += len(ids)
        self._keep(ids)
        return total - len(ids)

    def _produce(self, key: str, value: bytes, origin: int | None) -> None:
        # a failure names its record by the message's key and value; a source line needs a callback of its own
        on_error = None if origin is None else partial(self._on_error, origin=origin)
        key_bytes = key.encode()
        while True:
            try:
                self.producer.produce(self.topic, value, key_bytes, on_delivery=on_error)
                break
            except BufferError:  # local queue full: let deliveries drain, then retry
                self.producer.poll(0.5)
        self.sent += 1
        self._unpolled += 1
        if self._unpolled == POLL_EVERY:
            self._unpolled = 0
            self.producer.poll(0)
        self._keep([key_bytes])

    def _keep(self, keys: list[bytes]) -> None:
        """Keys just sent into the checkpoint's open section, a block at a time, before any commit can close it;
        a commit (a flush) once COMMIT_EVERY_S have passed since the last."""
        if self.checkpoint is None:
            return
        self._keys.extend(keys)
        if len(self._keys) >= KEYS_BLOCK:
            self.checkpoint.sent(self._keys)
            self._keys = []
        if time.monotonic() - self._committed_at > COMMIT_EVERY_S:
            self.flush()

    def _on_error(self, err: Any, msg: Any, origin: int | None = None) -> None:
        """librdkafka's report of a failed delivery (the only kind it reports): the broker may hold the record
        all the same (a timeout after the write), so it is an unknown outcome, settled at the flush."""
        if err is None:
            return
        key = (msg.key() or b"").decode(errors="replace")
        self._error_reports += 1
        self._unknown[key] = DeliveryFailure(key, self.framing.record_of(msg.value() or b""), origin, str(err))

    def flush(self, timeout: float = 30.0) -> DeliveryCounts:
        """Wait for the deliveries; what is still queued after `timeout` is withdrawn, and every record without
        an acknowledgement is looked for on the topic: only those it does not hold count as failed. Then the
        checkpoint commits what was sent."""
        if self.producer.flush(timeout):
            self.producer.purge()  # their delivery callbacks report them now, as unknown outcomes
            self.producer.flush(0)
        self._settle_unknown()
        self.delivered = self.sent - self._error_reports + self._found
        self._commit()
        return DeliveryCounts(self.delivered, self.failed)

    def _commit(self) -> None:
        """Every record sent so far is settled: its key goes to the checkpoint, the failed ones withdrawn, and
        a resume reads the tail from the partitions' ends now (or from the last marks, if they cannot be read)."""
        if self.checkpoint is None:
            return
        self.checkpoint.sent(self._keys)
        try:
            ends = {p: high for p, (_low, high) in self.reader.end_offsets(KAFKA_TIMEOUT_S).items()}
        except (TopicUnreadable, KafkaException):
            ends = {}
        self.checkpoint.commit(self._withdrawn, ends)
        self._keys, self._withdrawn = [], []
        self._committed_at = time.monotonic()

    def _settle_unknown(self) -> None:
        if not self._unknown:
            return
        unknown, self._unknown = self._unknown, {}
        ends: dict[int, tuple[int, int]] = {}
        check = ""
        try:
            ends = self.reader.end_offsets(KAFKA_TIMEOUT_S)
            since = {p: (self.run_start.get(p, low), high) for p, (low, high) in ends.items()}
            for key, _partition, _offset in self.reader.keys(since):
                if unknown.pop(key, None) is not None:
                    self._found += 1
        except (TopicUnreadable, KafkaException) as exc:
            check = f"; the topic could not be checked for it ({' '.join(str(exc).split())[:120]})"
        for failure in unknown.values():
            reason = f"kafka: not delivered ({failure.reason}){check}"
            self.failures.append(replace(failure, reason=reason))
            if len(self.errors) < 10:
                self.errors.append(reason)
        self.failed += len(unknown)
        self._withdrawn.extend(unknown)
