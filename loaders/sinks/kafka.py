"""Kafka with registered JSON Schemas: confluent-kafka's JSONSerializer (subject `<topic>-value`), key = the
record's id, idempotent producer with acks=all, delivery reports counted. Every record is validated against
the schema before it is serialized, by a compiled validator (fastjsonschema): the serializer's own jsonschema
validation cost ~250 µs a record, five times the rest of the produce path; it is switched off.

A checkpoint file (one delivered key per line, appended from the delivery callback) makes re-runs send
nothing already acknowledged, so a load killed halfway resumes where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from schemas import DatasetSchema


class RecordRejected(ValueError):
    """The record does not fit its JSON Schema; it was not sent. `field` names the offending field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class DeliveryCounts:
    delivered: int
    failed: int


def first_violation(schema: DatasetSchema, record: dict[str, Any]) -> tuple[str | None, str]:
    """(field, reason) of the first JSON Schema violation of `record`, for messages that name the field."""
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(schema.json_schema()).iter_errors(record), key=lambda e: list(e.path))
    if not errors:
        return None, "rejected by the serializer"
    error = errors[0]
    field = str(error.path[0]) if error.path else None
    if field is None and error.validator == "required":
        field = str(error.message).split("'")[1] if "'" in error.message else None
    return field, error.message


class SchemaRegistryJsonProducer:
    def __init__(
        self,
        bootstrap_servers: str,
        schema_registry_url: str,
        topic: str,
        schema: DatasetSchema,
        checkpoint: Path | None = None,
        linger_ms: int = 20,
    ) -> None:
        import fastjsonschema
        from confluent_kafka import Producer
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.json_schema import JSONSerializer

        self.topic = topic
        self.schema = schema
        self.registry = SchemaRegistryClient({"url": schema_registry_url})
        self.serializer = JSONSerializer(
            json.dumps(schema.json_schema()), self.registry, conf={"auto.register.schemas": True, "validate": False}
        )
        self.validate = fastjsonschema.compile(schema.json_schema())
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": linger_ms,
                "compression.type": "lz4",
            }
        )
        self.checkpoint = checkpoint
        self.done: set[str] = set(_read_keys(checkpoint)) if checkpoint else set()
        self._checkpoint_file: TextIO | None = None
        self.delivered = 0
        self.failed = 0
        self.errors: list[str] = []

    def __enter__(self) -> SchemaRegistryJsonProducer:
        if self.checkpoint:
            self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
            self._checkpoint_file = self.checkpoint.open("a", encoding="utf-8", buffering=1)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.flush()
        if self._checkpoint_file:
            self._checkpoint_file.close()
            self._checkpoint_file = None

    def send(self, record: dict[str, Any]) -> bool:
        """Serialize (validating against the schema) and send; False if the checkpoint has it already."""
        from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError
        from fastjsonschema import JsonSchemaValueException

        key = self.schema.document_id(record) if all(k in record for k in self.schema.key) else None
        if self.checkpoint is not None and key is not None and key in self.done:
            return False
        try:
            self.validate(record)
            value = self.serializer(record, SerializationContext(self.topic, MessageField.VALUE))
        except (JsonSchemaValueException, SerializationError) as exc:
            field, reason = first_violation(self.schema, record)
            if field is None and isinstance(exc, JsonSchemaValueException):
                field, reason = (exc.path[1] if len(exc.path) > 1 else None), exc.message
            where = f"field {field!r}: " if field else ""
            raise RecordRejected(f"{self.schema.title}: {where}{reason}", field) from exc
        if key is None:  # the schema accepted a record without its key fields: cannot happen with required keys
            raise RecordRejected(f"{self.schema.title}: key field(s) {', '.join(self.schema.key)} missing", None)
        while True:
            try:
                self.producer.produce(self.topic, key=key.encode(), value=value, on_delivery=self._on_delivery)
                break
            except BufferError:  # local queue full: let deliveries drain, then retry
                self.producer.poll(0.5)
        self.producer.poll(0)
        return True

    def _on_delivery(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.failed += 1
            if len(self.errors) < 10:
                self.errors.append(str(err))
            return
        self.delivered += 1
        if self._checkpoint_file:
            key = msg.key().decode()
            self.done.add(key)
            self._checkpoint_file.write(key + "\n")

    def flush(self, timeout: float = 30.0) -> DeliveryCounts:
        remaining = self.producer.flush(timeout)
        if remaining:
            self.errors.append(f"{remaining} message(s) not delivered within {timeout:.0f}s")
            self.failed += remaining
        return DeliveryCounts(self.delivered, self.failed)


def _read_keys(path: Path) -> Iterable[str]:
    if not path.exists():
        return []
    return (line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def topic_id(bootstrap_servers: str, topic: str, timeout_s: float = 10.0) -> str:
    """The topic's id (Kafka's UUID of this incarnation of the topic): a topic deleted and created again, e.g. by
    a stack's destroy and up, is another topic, and what was delivered to the old one is not on it."""
    from confluent_kafka import TopicCollection
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "socket.timeout.ms": int(timeout_s * 1000)})
    description = admin.describe_topics(TopicCollection([topic]), request_timeout=timeout_s)[topic].result(timeout_s)
    return str(description.topic_id)


class KafkaSink:
    """The load loop's view of the producer: topic and registry from the outputs, a checkpoint per topic."""

    target = "kafka"

    def __init__(self, dataset: str, outputs: dict[str, Any], checkpoint: Path | None = None) -> None:
        from loaders.sinks.base import BatchResult
        from schemas import load as load_schema

        self._result = BatchResult
        topic = outputs["kafka_topics"][dataset]
        self.producer = SchemaRegistryJsonProducer(
            outputs["kafka_bootstrap_servers"], outputs["schema_registry_url"], topic, load_schema(dataset), checkpoint
        ).__enter__()
        self.where = topic
        self._reported = (0, 0)

    def write(self, records: list[dict[str, Any]]) -> Any:
        result = self._result()
        for record in records:
            try:
                if not self.producer.send(record):
                    result.skipped += 1
            except RecordRejected as exc:
                result.failed.append((record, str(exc)))
        return result

    def finish(self) -> Any:
        """Deliveries are counted when Kafka acknowledges them: report them here, after a flush."""
        counts = self.producer.flush(timeout=60)
        result = self._result(written=counts.delivered - self._reported[0])
        new_failures = counts.failed - self._reported[1]
        if new_failures:
            reason = "; ".join(self.producer.errors[-3:]) or "not delivered"
            result.failed = [({"delivery": "unknown record"}, f"kafka: {reason}")] * new_failures
        self._reported = (counts.delivered, counts.failed)
        return result

    def count(self) -> int | None:
        return None

    def close(self) -> None:
        self.producer.__exit__(None, None, None)
