"""A Kafka topic, read from the beginning (or `since` offsets) up to the end offsets taken when the read starts,
so records produced meanwhile belong to the next run. Values are the loaders' schema-registry JSON, decoded by
confluent-kafka's JSONDeserializer (either schema-id framing)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from contract.clients import kafka_config
from contract.errors import kafka_error_text
from contract.outputs import StackOutputs
from pipelines.reconcile.compare import FIRST
from pipelines.reconcile.stores import StoreError
from schemas import DatasetSchema

#: seconds without a record, before the end offsets are reached, after which the broker counts as stuck
STALL_S = 30
#: records asked of one consume() call at most
BATCH = 10_000
METADATA_TIMEOUT_S = 10


class KafkaStore:
    stage = "kafka"

    def __init__(
        self,
        outputs: StackOutputs,
        topic: str,
        schema: DatasetSchema,
        since: Mapping[int, int] | None = None,
        since_time: float | None = None,
    ) -> None:
        self.outputs, self.topic, self.schema = outputs, topic, schema
        self.since, self.since_time = dict(since or {}), since_time
        # `since` offsets: where the current copy starts (a producer re-sends a dataset whole), so still complete;
        # `since_time`: only what arrived from then on, so keys before it are not missing
        self.complete = since_time is None
        self.where = f"topic {topic} at {outputs['kafka_bootstrap_servers']}"
        self.coverage: dict[str, Any] = {}

    def records(self) -> Iterator[dict[str, Any]]:
        from confluent_kafka import Consumer, KafkaException

        settings = {"group.id": f"reconcile-{uuid.uuid4().hex}", "enable.auto.commit": False, "log_level": 0}
        consumer = Consumer(kafka_config(self.outputs, **settings))
        try:
            ends = self._assign(consumer)
            yield from self._read(consumer, ends)
        except KafkaException as exc:
            raise StoreError(f"kafka {self.where}: {kafka_error_text(exc)}") from None
        finally:
            consumer.close()

    def _assign(self, consumer: Any) -> dict[int, tuple[int, int]]:
        """Assigns each partition from its first offset to read; per partition, that offset and the end offset."""
        from confluent_kafka import TopicPartition

        metadata = consumer.list_topics(self.topic, timeout=METADATA_TIMEOUT_S)
        topic = metadata.topics.get(self.topic)
        if topic is None or topic.error is not None:
            raise StoreError(f"kafka {self.where}: no such topic (the stack creates it: `make up`)")
        partitions = sorted(topic.partitions)
        by_time = self._offsets_at_time(consumer, partitions)
        since = {p: max(self.since.get(p, 0), by_time.get(p, 0)) for p in partitions}
        ranges: dict[int, list[int]] = {}
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(self.topic, partition), timeout=METADATA_TIMEOUT_S
            )
            ranges[partition] = [max(low, min(since.get(partition, 0), high)), high]
        self.coverage.update({"topic": self.topic, "offsets": {str(p): r for p, r in ranges.items()}})
        consumer.assign([TopicPartition(self.topic, p, first) for p, (first, end) in ranges.items() if first < end])
        return {p: (first, end) for p, (first, end) in ranges.items() if first < end}

    def _offsets_at_time(self, consumer: Any, partitions: list[int]) -> dict[int, int]:
        """Per partition, the first offset stamped at or after `since_time` (none yet: past the end)."""
        from confluent_kafka import TopicPartition

        if self.since_time is None:
            return {}
        at = int(self.since_time * 1000)
        found = consumer.offsets_for_times([TopicPartition(self.topic, p, at) for p in partitions], METADATA_TIMEOUT_S)
        self.coverage["since_time"] = self.since_time
        return {tp.partition: tp.offset if tp.offset >= 0 else 2**62 for tp in found}

    def _read(self, consumer: Any, ranges: dict[int, tuple[int, int]]) -> Iterator[dict[str, Any]]:
        decode = self._decoder()
        ends = {p: end for p, (_, end) in ranges.items()}
        waiting, last_record = dict(ends), time.monotonic()
        position = {p: first for p, (first, _) in ranges.items()}
        while waiting:
            # ask for no more than the offsets left: consume() waits out its timeout when it gets fewer than asked
            left = sum(waiting[p] - position[p] for p in waiting)
            messages = consumer.consume(max(1, min(BATCH, left)), timeout=1.0)
            if not messages and time.monotonic() - last_record > STALL_S:
                raise StoreError(f"kafka {self.where}: no record for {STALL_S}s before the end offsets {ends}")
            for message in messages:
                if message.error() is not None:
                    raise StoreError(f"kafka {self.where}: {message.error().str()}")
                partition, offset = message.partition(), message.offset()
                last_record = time.monotonic()
                if partition not in waiting or offset >= waiting[partition]:
                    continue
                position[partition] = offset + 1
                value = decode(message)
                if value is not None:
                    yield value
                if offset + 1 >= waiting[partition]:
                    del waiting[partition]

    def _decoder(self) -> Callable[[Any], dict[str, Any] | None]:
        """The registry's JSON deserializer; a record it cannot read is counted in coverage["unreadable"] (with
        the first ones' partition, offset and reason), a finding of the stage, and the read goes on."""
        from confluent_kafka.serialization import SerializationError

        decode = _decoder(self.schema)
        unreadable = self.coverage.setdefault("unreadable", {"count": 0, "first": []})

        def decode_or_count(message: Any) -> dict[str, Any] | None:
            try:
                return decode(message)
            except SerializationError as exc:
                unreadable["count"] += 1
                if len(unreadable["first"]) < FIRST:
                    unreadable["first"].append({"partition": message.partition(), "offset": message.offset(),
                                                "error": str(exc)})  # fmt: skip
                return None

        return decode_or_count


def _decoder(schema: DatasetSchema) -> Any:
    """The registry's JSONDeserializer, with a short cut for what the loaders send (no headers, the value the
    magic byte 0, a 4-byte schema id, then a JSON object): the JSON decoded as the deserializer decodes it,
    which is all it does with such a value when it neither validates nor has a registry to ask. Any other
    record, or one the short cut cannot decode, goes through the deserializer itself (made at the first such
    record: its imports cost more than a small topic's read)."""
    from confluent_kafka.serialization import MessageField, SerializationContext

    json_loads = _json_loads()

    deserializer: list[Any] = []

    def decode(message: Any) -> dict[str, Any]:
        data = message.value()
        if data is not None and data[:1] == b"\x00" and len(data) > 5 and message.headers() is None:
            try:
                value = json_loads(data[5:])
                if isinstance(value, dict):
                    return value
            except ValueError:
                pass  # the deserializer's own path below says what is wrong
        if not deserializer:
            from confluent_kafka.schema_registry.json_schema import JSONDeserializer

            deserializer.append(JSONDeserializer(json.dumps(schema.json_schema()), conf={"validate": False}))
        context = SerializationContext(message.topic(), MessageField.VALUE, message.headers())
        decoded: dict[str, Any] = deserializer[0](data, context)
        return decoded

    return decode


def _json_loads() -> Callable[[bytes], Any]:
    """The decoder the deserializer uses (confluent_kafka.schema_registry.common.json_schema): orjson where it
    installs, else the standard library's; that module's own import costs seconds (jsonschema, referencing)."""
    try:
        import orjson
    except ImportError:
        return json.loads
    return orjson.loads
