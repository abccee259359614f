"""Kafka with registered JSON Schemas: confluent-kafka's JSONSerializer (subject `<topic>-value`), key = the
record's id, idempotent producer with acks=all, delivery reports counted. Every record is validated against
the schema before it is serialized, by the loaders' one compiled validator (loaders.validate, fastjsonschema):
the serializer's own jsonschema validation cost ~250 µs a record, five times the rest of the produce path; it is
switched off.

A broker that does not answer is found by a metadata request within KAFKA_TIMEOUT_S (TargetUnreachable, one
line naming the address), not after librdkafka's minutes of retries; librdkafka's own log lines stay off the
screen unless `verbose`.

A checkpoint file (one delivered key per line, appended from the delivery callback) makes re-runs send
nothing already acknowledged, so a load killed halfway resumes where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from contract import naming
from contract.kafka_auth import kafka_auth_config
from loaders.sinks.base import LoadError, unreachable
from loaders.validate import RecordValidator
from schemas import DatasetSchema

#: seconds a request to the broker may take before the broker counts as unreachable
KAFKA_TIMEOUT_S = 10
#: a message not acknowledged within this many seconds fails (librdkafka's default is 300)
MESSAGE_TIMEOUT_S = 30


def quiet(verbose: bool) -> dict[str, Any]:
    """librdkafka settings that keep its own log lines (a line per failed connect, every second) off stderr;
    the load reports what went wrong in one line. `verbose`: librdkafka's defaults."""
    return {} if verbose else {"log_level": 0}


class RecordRejected(ValueError):
    """The record does not fit its JSON Schema; it was not sent. `field` names the offending field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class DeliveryCounts:
    delivered: int
    failed: int


class SchemaRegistryJsonProducer:
    def __init__(
        self,
        bootstrap_servers: str,
        schema_registry_url: str,
        topic: str,
        schema: DatasetSchema,
        checkpoint: Path | None = None,
        linger_ms: int = 20,
        verbose: bool = False,
        client_settings: Mapping[str, Any] | None = None,
    ) -> None:
        """`client_settings`: what the brokers' authentication needs (contract.kafka_auth, e.g. MSK IAM)."""
        from confluent_kafka import KafkaException, Producer
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.json_schema import JSONSerializer

        self.topic = topic
        self.schema = schema
        self.registry = SchemaRegistryClient({"url": schema_registry_url, "timeout": KAFKA_TIMEOUT_S})
        self.serializer = JSONSerializer(
            json.dumps(schema.json_schema()), self.registry, conf={"auto.register.schemas": True, "validate": False}
        )
        self.validator = RecordValidator(schema)
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap_servers,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": linger_ms,
                "compression.type": "lz4",
                "socket.timeout.ms": KAFKA_TIMEOUT_S * 1000,
                "message.timeout.ms": MESSAGE_TIMEOUT_S * 1000,
                **quiet(verbose),
                **(client_settings or {}),
            }
        )
        try:  # the producer connects lazily: ask for metadata now, so a dead broker is one line within seconds
            self.producer.list_topics(timeout=KAFKA_TIMEOUT_S)
        except KafkaException as exc:
            raise unreachable("kafka", bootstrap_servers, exc.args[0].str() if exc.args else exc) from None
        try:
            self.registry.get_subjects()
        except Exception as exc:  # httpx or registry errors: the registry cannot be used
            raise unreachable("schema registry", schema_registry_url, exc) from None
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

    def send(self, record: dict[str, Any], validated: bool = False) -> bool:
        """Serialize (validating against the schema, unless the caller has: `validated`) and send; False if the
        checkpoint has it already."""
        from confluent_kafka.schema_registry.error import SchemaRegistryError
        from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

        violation = None if validated else self.validator.check(record)
        if violation is not None:
            raise RecordRejected(f"{self.schema.title}: {violation}", violation.field)
        key = self.schema.document_id(record)
        if self.checkpoint is not None and key in self.done:
            return False
        try:
            value = self.serializer(record, SerializationContext(self.topic, MessageField.VALUE))
        except SerializationError as exc:
            raise RecordRejected(f"{self.schema.title}: {exc}", None) from exc
        except SchemaRegistryError as exc:  # auto-registration refused: no record of this topic can be sent
            if exc.http_status_code != 409:
                raise
            detail = " ".join(str(exc.error_message).split())[:300]
            raise LoadError(
                f"schema registry: subject {naming.schema_subject(self.topic)} refused the dataset's schema as "
                f"incompatible with its registered versions ({detail}); the stack owns the subject: make up"
            ) from None
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


def topic_id(
    bootstrap_servers: str,
    topic: str,
    timeout_s: float = KAFKA_TIMEOUT_S,
    verbose: bool = False,
    client_settings: Mapping[str, Any] | None = None,
) -> str:
    """The topic's id (Kafka's UUID of this incarnation of the topic): a topic deleted and created again, e.g. by
    a stack's destroy and up, is another topic, and what was delivered to the old one is not on it.
    TargetUnreachable when the broker does not answer within `timeout_s`; LoadError when it has no such topic."""
    from concurrent.futures import TimeoutError as FutureTimeout

    from confluent_kafka import KafkaError, KafkaException, TopicCollection
    from confluent_kafka.admin import AdminClient

    config = {
        "bootstrap.servers": bootstrap_servers,
        "socket.timeout.ms": int(timeout_s * 1000),
        **quiet(verbose),
        **(client_settings or {}),
    }
    admin = AdminClient(config)
    try:
        admin.list_topics(timeout=timeout_s)  # a dead broker: one metadata request, not a describe's retries
        future = admin.describe_topics(TopicCollection([topic]), request_timeout=timeout_s)[topic]
        description = future.result(timeout_s)
    except KafkaException as exc:
        error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
        if error is not None and error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            message = f"kafka at {bootstrap_servers} has no topic {topic!r}; the stack creates it: make up"
            raise LoadError(message) from None
        raise unreachable("kafka", bootstrap_servers, error.str() if error else exc) from None
    except FutureTimeout:
        raise unreachable("kafka", bootstrap_servers, f"no answer within {timeout_s:.0f}s") from None
    return str(description.topic_id)


class KafkaSink:
    """The load loop's view of the producer: topic and registry from the outputs, a checkpoint per topic."""

    target = "kafka"

    def __init__(
        self, dataset: str, outputs: dict[str, Any], checkpoint: Path | None = None, verbose: bool = False
    ) -> None:
        from loaders.sinks.base import BatchResult, output_name
        from schemas import load as load_schema

        self._result = BatchResult
        topic = output_name(outputs, "kafka_topics", dataset)
        self.producer = SchemaRegistryJsonProducer(
            outputs["kafka_bootstrap_servers"],
            outputs["schema_registry_url"],
            topic,
            load_schema(dataset),
            checkpoint,
            verbose=verbose,
            client_settings=kafka_auth_config(outputs),
        ).__enter__()
        self.where = topic
        self._reported = (0, 0)

    def write(self, records: list[dict[str, Any]]) -> Any:
        result = self._result()
        for record in records:
            try:
                # the load loop validated every record against the same schema before the batch was formed
                if not self.producer.send(record, validated=True):
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
