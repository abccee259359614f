"""What a Kafka topic holds, as the producer's checkpoint and the partitions' tails tell it: exactly-once resume.

The checkpoint file is appended to, one line per fact, and read back whole at the start of a run:
- `key<TAB>partition<TAB>offset`: a record found on the topic (in the tail, see below), and `#next<TAB>partition
  <TAB>offset`: every offset below it is accounted for. A plain `key` line outside a section (the oldest
  format) counts as delivered too.
- `#sending`, then the plain keys a run sent, then `#commit`: the run's keys count only once it has committed
  them, after a flush (at its end, and every second) told it every one was delivered or failed;
  a `#failed<TAB>key` line before the commit withdraws one the topic does not hold. Keys are written a block at
  a time, not as each acknowledgement comes: librdkafka reports successes only to a callback, and a Python call
  and a line per record (the previous format) were a quarter of a 100k load's time in a py-spy profile.

Why the tail is read: a kill -9 loses everything past the last commit (the records of an uncommitted section, and
any librdkafka had in flight). The records the broker holds past the checkpoint's `#next` offsets are exactly
those, whatever moment the kill hit: reading the partitions from there to their end before sending anything
makes the resume send each key once (before the tail was read, 3 of 16 trials duplicated 209 to 720 records).
It costs one read of the records since the last commit at start; a transactional producer would cost a commit
per batch on every run and `read_committed` in every consumer (the S3 sink's Connect worker reads uncommitted
records by default, and would write aborted ones to the lake).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

#: seconds the tail reader waits for a record the watermarks promise before it gives up
READ_TIMEOUT_S = 10.0
_NEXT = "#next"
_SENDING, _COMMIT, _FAILED = "#sending", "#commit", "#failed"
#: bytes of checkpoint lines buffered before a write (about 400 acknowledgements)
_BLOCK = 1 << 13


class TopicUnreadable(RuntimeError):
    """The broker did not serve the records between the offsets asked for; the message names topic and partition."""


class Checkpoint:
    """The delivered keys of one topic incarnation, and up to which offset of each partition they are known."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: set[str] = set()
        self.next_offsets: dict[int, int] = {}
        self._handle: BinaryIO | None = None
        if path.exists():
            self._read(path.read_text(encoding="utf-8").splitlines())

    def _read(self, lines: Iterable[str]) -> None:
        section: set[str] | None = None  # the keys of a `#sending` section not committed (yet)
        for line in lines:
            fields = line.rstrip("\n").split("\t")
            if fields[0] == _SENDING:
                section = set()
            elif fields[0] == _COMMIT and section is not None:
                self.done |= section
                section = None
            elif fields[0] == _FAILED and len(fields) == 2 and section is not None:
                section.discard(fields[1])
            elif len(fields) == 3 and fields[0] == _NEXT and fields[1].isdigit() and fields[2].isdigit():
                self._advance(int(fields[1]), int(fields[2]))
            elif len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
                self.done.add(fields[0])
                self._advance(int(fields[1]), int(fields[2]) + 1)
            elif len(fields) == 1 and line.strip() and not line.startswith("#"):
                (self.done if section is None else section).add(line.strip())
            # else a line cut short by a kill: its record lies past the offsets kept, where the tail is read

    def _advance(self, partition: int, next_offset: int) -> None:
        self.next_offsets[partition] = max(self.next_offsets.get(partition, 0), next_offset)

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        torn = self.path.exists() and self.path.stat().st_size and not self.path.read_bytes().endswith(b"\n")
        self._handle = self.path.open("ab", buffering=_BLOCK)
        if torn:  # a kill cut the last line: what follows must not be glued to it
            self._handle.write(b"\n")

    def add(self, key: str, partition: int, offset: int) -> None:
        """A record found on the topic: delivered, at that offset."""
        self.done.add(key)
        self._advance(partition, offset + 1)
        if self._handle is not None:
            self._handle.write(f"{key}\t{partition}\t{offset}\n".encode())

    def mark(self, next_offsets: Mapping[int, int]) -> None:
        """Everything below `next_offsets` has been read into the checkpoint: a later resume starts there."""
        for partition, offset in sorted(next_offsets.items()):
            self._advance(partition, offset)
            if self._handle is not None:
                self._handle.write(f"{_NEXT}\t{partition}\t{offset}\n".encode())

    def begin(self) -> None:
        """Open a section of sent keys; they count once `commit` closes it."""
        if self._handle is not None:
            self._handle.write(f"{_SENDING}\n".encode())

    def sent(self, keys: list[bytes]) -> None:
        """Keys (UTF-8) sent in the open section (delivered or failed: `commit` tells which)."""
        if self._handle is not None and keys:
            self._handle.write(b"\n".join(keys) + b"\n")

    def commit(self, failed: Iterable[str], next_offsets: Mapping[int, int]) -> None:
        """Every key sent in the section is settled: `failed` are not on the topic, the others are (`done`
        learns them when the next run reads the file: a run skips only what earlier runs delivered); a resume
        reads the tail from `next_offsets`. A new section is opened for what is sent next."""
        if self._handle is None:
            return
        self._handle.write(("".join(f"{_FAILED}\t{key}\n" for key in failed) + f"{_COMMIT}\n").encode())
        self.mark(next_offsets)
        self._handle.flush()
        self.begin()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class TopicReader:
    """Watermarks and keys of one topic's partitions, through a consumer that is assigned, never subscribed."""

    def __init__(self, bootstrap_servers: str, topic: str, client_settings: Mapping[str, Any]) -> None:
        from confluent_kafka import Consumer

        self.topic = topic
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                "group.id": "loaders-topic-reader",  # required by the client; nothing is ever committed
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                **client_settings,
            }
        )

    def end_offsets(self, timeout_s: float) -> dict[int, tuple[int, int]]:
        """Partition -> (first offset, next offset). A broker that has just started answers "not leader" for a
        moment: retried until `timeout_s`."""
        from confluent_kafka import KafkaError, KafkaException

        settling = (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self._watermarks(timeout_s)
            except KafkaException as exc:
                error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
                if error is None or error.code() not in settling or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _watermarks(self, timeout_s: float) -> dict[int, tuple[int, int]]:
        from confluent_kafka import TopicPartition

        metadata = self.consumer.list_topics(self.topic, timeout=timeout_s)
        partitions = metadata.topics[self.topic].partitions if self.topic in metadata.topics else {}
        return {
            p: self.consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=timeout_s, cached=False)
            for p in partitions
        }

    def keys(self, ranges: Mapping[int, tuple[int, int]]) -> Iterator[tuple[str, int, int]]:
        """(key, partition, offset) of every record in [start, end) of each partition."""
        from confluent_kafka import KafkaError, TopicPartition

        wanted = {p: (start, end) for p, (start, end) in ranges.items() if start < end}
        if not wanted:
            return
        self.consumer.assign([TopicPartition(self.topic, p, start) for p, (start, _end) in wanted.items()])
        last_record = time.monotonic()
        try:
            while wanted:
                for msg in self.consumer.consume(num_messages=1000, timeout=1.0):
                    last_record = time.monotonic()
                    error = msg.error()
                    if error is not None and error.code() != KafkaError._PARTITION_EOF:
                        raise TopicUnreadable(f"kafka topic {self.topic}: {error.str()}")
                    partition, offset, key = msg.partition(), msg.offset() or 0, msg.key()
                    if error is None and key and partition in wanted and offset < wanted[partition][1]:
                        yield key.decode(errors="replace"), partition, offset
                    if partition in wanted and (error is not None or offset + 1 >= wanted[partition][1]):
                        del wanted[partition]
                if wanted and time.monotonic() - last_record > READ_TIMEOUT_S:
                    missing = ", ".join(f"partition {p} from offset {s}" for p, (s, _e) in sorted(wanted.items()))
                    raise TopicUnreadable(f"kafka topic {self.topic}: nothing in {READ_TIMEOUT_S:.0f}s ({missing})")
        finally:
            self.consumer.unassign()

    def close(self) -> None:
        self.consumer.close()
