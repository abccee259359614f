"""Kafka: every topic with its partitions and end offsets, the S3 sink's consumer lag (its consumer group is
`connect-<connector>`, Connect's naming for a sink) and the dead-letter topic's depth, all from the broker's
AdminClient. Internal topics (`_`-prefixed: the broker's and Connect's own) are left out."""

from __future__ import annotations

from typing import Any

from contract.clients import kafka_config
from contract.s3_sink import DEAD_LETTER_TOPIC
from demo.status.section import TIMEOUT_S, Unreadable, guarded
from demo.status.sources import Sources

#: what a group has committed for a partition it never committed
NO_OFFSET = -1001


def section(src: Sources) -> dict[str, Any]:
    return guarded("kafka", lambda: src.endpoint("kafka_bootstrap_servers", "kafka"), lambda where: collect(src, where))


def collect(src: Sources, where: str) -> dict[str, Any]:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    # log_level 0: a broker that goes away mid-read is the section's one line, not a stream of librdkafka retries
    settings = {"socket.timeout.ms": int(TIMEOUT_S * 1000), "log_level": 0}
    admin = AdminClient(kafka_config(src.outputs, **settings))
    try:
        partitions = topic_partitions(admin)
        starts, ends = offsets(admin, partitions, "earliest"), offsets(admin, partitions, "latest")
        group = f"connect-{src.connector}"
        committed = group_offsets(admin, group)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else exc
        raise Unreadable(f"kafka: {error.str() if hasattr(error, 'str') else error} ({where})") from None
    topics = [
        topic_row(name, parts, starts, ends, committed if name in src.sink_topics else None, name in src.stack_topics)
        for name, parts in sorted(partitions.items())
    ]
    by_name = {t["name"]: t for t in topics}
    dead = by_name.get(DEAD_LETTER_TOPIC)
    return {
        "bootstrap_servers": where,
        "topics": topics,
        "sink": {
            "connector": src.connector,
            "group": group,
            "topics": src.sink_topics,
            "lag": sum(by_name[t]["sink_lag"] for t in src.sink_topics if t in by_name),
        },
        "dead_letter": {
            "topic": DEAD_LETTER_TOPIC,
            "exists": dead is not None,
            "depth": dead["records"] if dead else None,
        },
    }


def topic_partitions(admin: Any) -> dict[str, list[int]]:
    metadata = admin.list_topics(timeout=TIMEOUT_S)
    return {
        name: sorted(topic.partitions)
        for name, topic in metadata.topics.items()
        if not name.startswith("_") and topic.error is None
    }


def offsets(admin: Any, partitions: dict[str, list[int]], which: str) -> dict[tuple[str, int], int]:
    """(topic, partition) -> the earliest or the latest (end) offset, in one request to the broker."""
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import OffsetSpec

    spec = OffsetSpec.earliest() if which == "earliest" else OffsetSpec.latest()
    request = {TopicPartition(t, p): spec for t, parts in partitions.items() for p in parts}
    if not request:
        return {}
    futures = admin.list_offsets(request, request_timeout=TIMEOUT_S)
    return {(tp.topic, tp.partition): future.result().offset for tp, future in futures.items()}


def group_offsets(admin: Any, group: str) -> dict[tuple[str, int], int]:
    """(topic, partition) -> the offset `group` committed (partitions it never committed are absent)."""
    from confluent_kafka import ConsumerGroupTopicPartitions

    futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)], request_timeout=TIMEOUT_S)
    result = futures[group].result()
    return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions or [] if tp.offset != NO_OFFSET}


def topic_row(
    name: str,
    parts: list[int],
    starts: dict[tuple[str, int], int],
    ends: dict[tuple[str, int], int],
    committed: dict[tuple[str, int], int] | None,
    of_stack: bool,
) -> dict[str, Any]:
    """A topic: its end offsets, the records it retains and, for a topic the sink reads, the sink's lag (a
    partition the sink never committed lags by everything it retains)."""
    row: dict[str, Any] = {
        "name": name,
        "stack": of_stack,
        "partitions": len(parts),
        "end_offsets": {str(p): ends[(name, p)] for p in parts},
        "records": sum(ends[(name, p)] - starts[(name, p)] for p in parts),
        "sink_lag": None,
        "sink_committed": None,
    }
    if committed is not None:
        done = {p: committed.get((name, p), starts[(name, p)]) for p in parts}
        row["sink_committed"] = {str(p): committed.get((name, p)) for p in parts}
        row["sink_lag"] = sum(max(0, ends[(name, p)] - done[p]) for p in parts)
    return row
