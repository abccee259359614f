"""The Kafka topic provider against devstack's real broker: a topic that exists already is adopted on create
(grown to the declared partitions, given the declared configs), one that cannot be adopted is refused in one
line and left as it was; refresh reads a missing topic as gone without creating it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from _streaming_records import unique_topic

from components.kafka_topic import TopicAdmin, TopicProvider

pytestmark = pytest.mark.devstack


@pytest.fixture
def topic(devstack: Any) -> Iterator[dict[str, Any]]:
    """The declared topic's inputs; whatever the test left on the broker is deleted after it."""
    bootstrap = devstack("kafka")["kafka_bootstrap_servers"]
    props = {
        "bootstrap_servers": bootstrap,
        "topic": unique_topic("devstack-topic-provider"),
        "partitions": 3,
        "replication_factor": 1,
        "configs": {"retention.ms": "3600000"},
    }
    yield props
    if TopicProvider().read(props["topic"], props).id is not None:
        TopicProvider().delete(props["topic"], props)


def by_hand(props: dict[str, Any], partitions: int) -> None:
    """What someone (or a stack whose state was lost) left: the topic with the broker's default configs."""
    admin = TopicAdmin(props["bootstrap_servers"])
    admin.create(props["topic"], partitions, 1, {})
    deadline = time.monotonic() + 30  # the broker lists a new topic a moment after creating it
    while admin.describe(props["topic"], set()) is None:
        assert time.monotonic() < deadline, f"topic {props['topic']} not listed 30 s after its creation"
        time.sleep(0.2)


def live(props: dict[str, Any]) -> dict[str, Any]:
    read = TopicProvider().read(props["topic"], props)
    assert read.id == props["topic"] and read.outs is not None
    return {key: read.outs[key] for key in ("partitions", "replication_factor", "configs")}


def test_an_existing_topic_with_fewer_partitions_is_adopted_grown_and_configured(topic: dict[str, Any]) -> None:
    by_hand(topic, 1)
    assert live(topic)["partitions"] == 1
    created = TopicProvider().create(dict(topic))
    assert created.id == topic["topic"]
    assert (created.outs or {})["declared_partitions"] == 3
    assert live(topic) == {"partitions": 3, "replication_factor": 1, "configs": {"retention.ms": "3600000"}}


def test_an_existing_topic_with_more_partitions_is_refused_in_one_line_and_left_alone(topic: dict[str, Any]) -> None:
    by_hand(topic, 5)
    with pytest.raises(RuntimeError) as err:
        TopicProvider().create(dict(topic))
    message = str(err.value)
    assert message == (
        f"topic {topic['topic']} exists with 5 partitions, replication 1: cannot adopt it as 3/1 "
        "(delete it or change the stack)"
    )
    assert live(topic)["partitions"] == 5
    assert live(topic)["configs"] != topic["configs"]  # not configured either


def test_reading_a_missing_topic_never_creates_it_and_a_deleted_one_reads_as_gone(topic: dict[str, Any]) -> None:
    # devstack's broker creates a topic asked for by name (auto.create.topics.enable): refresh must not
    assert TopicProvider().read(topic["topic"], topic).id is None
    assert TopicProvider().read(topic["topic"], topic).id is None
    TopicProvider().create(dict(topic))
    assert live(topic)["partitions"] == 3
    TopicProvider().delete(topic["topic"], topic)
    deadline = time.monotonic() + 30  # the broker completes a deletion asynchronously
    while TopicProvider().read(topic["topic"], topic).id is not None:
        assert time.monotonic() < deadline, f"topic {topic['topic']} still listed 30 s after its deletion"
        time.sleep(0.5)
