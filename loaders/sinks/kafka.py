"""The Kafka sink: the load loop's view of the loaders' producer (loaders.sinks.kafka_producer), with the topic
and the registry named by the stack outputs and a checkpoint per incarnation of the topic (`topic_id`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from contract.kafka_auth import kafka_auth_config
from contract.outputs import StackOutputs
from loaders.sinks.base import BatchResult, LoadError, Record, output_name, unreachable
from loaders.sinks.kafka_framing import RecordRejected
from loaders.sinks.kafka_producer import FAST_RECONNECT, KAFKA_TIMEOUT_S, SchemaRegistryJsonProducer, quiet
from schemas import load as load_schema

__all__ = ["FAST_RECONNECT", "KafkaSink", "RecordRejected", "SchemaRegistryJsonProducer", "topic_id"]


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
        **FAST_RECONNECT,
        **quiet(verbose),
        **(client_settings or {}),
    }
    admin: Any = AdminClient(config)
    future: Any = None
    failure: Exception | None = None
    try:
        admin.list_topics(timeout=timeout_s)  # a dead broker: one metadata request, not a describe's retries
        future = admin.describe_topics(TopicCollection([topic]), request_timeout=timeout_s)[topic]
        description = future.result(timeout_s)
    except KafkaException as exc:
        error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
        if error is not None and error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            failure = LoadError(f"kafka at {bootstrap_servers} has no topic {topic!r}; the stack creates it: make up")
        else:
            failure = unreachable("kafka", bootstrap_servers, error.str() if error else exc)
    except FutureTimeout:
        failure = unreachable("kafka", bootstrap_servers, f"no answer within {timeout_s:.0f}s")
    finally:
        # the future keeps the broker's error, whose traceback keeps this frame, which keeps the future and the
        # client: a cycle only the garbage collector would free, with the client's broker threads running till then
        future = admin = None
    if failure is not None:
        raise failure
    return str(description.topic_id)


class KafkaSink:
    """The load loop's view of the producer: topic and registry from the outputs, a checkpoint per topic."""

    target = "kafka"

    def __init__(
        self,
        dataset: str,
        outputs: StackOutputs,
        checkpoint: Path | Callable[[], Path] | None = None,
        verbose: bool = False,
    ) -> None:
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

    @property
    def json_prefix(self) -> bytes:
        return self.producer.json_prefix

    def write_json(self, ids: list[bytes], values: list[bytes]) -> BatchResult:
        """The load loop's certainly valid source lines, sent as they are (loaders.sinks.base.JsonSink)."""
        result = BatchResult()
        start = len(self.json_prefix)
        try:
            result.skipped = self.producer.send_block(ids, values)
        except RecordRejected as exc:  # refused by a serializer that sees each record: as is every other
            result.failed = [(orjson.loads(value[start:]), str(exc)) for value in values]
        return result

    def write(self, records: list[Record]) -> BatchResult:
        result = BatchResult()
        for record in records:
            try:
                # the load loop validated every record against the same schema before the batch was formed
                if not self.producer.send(record, validated=True):
                    result.skipped += 1
            except RecordRejected as exc:
                result.failed.append((record, str(exc)))
        return result

    def finish(self) -> BatchResult:
        """Deliveries are counted when Kafka acknowledges them (or the topic is found to hold them): report
        them here, after a flush; each failure is the record itself, so the quarantine names its key and line."""
        counts = self.producer.flush(timeout=60)
        reported_delivered, reported_failures = self._reported
        result = BatchResult(written=counts.delivered - reported_delivered)
        result.failed = [(f.record, f.reason) for f in self.producer.failures[reported_failures:]]
        self._reported = (counts.delivered, len(self.producer.failures))
        return result

    def count(self) -> int | None:
        return None

    def close(self) -> None:
        self.producer.__exit__(None, None, None)
