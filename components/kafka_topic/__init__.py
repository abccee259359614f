"""Kafka topic as a Pulumi dynamic resource (client -> provider -> resource, as components/connect/).

`TopicProvider` is importable from here on purpose: a Pulumi state written before this package existed names
its provider `components.kafka_topic.TopicProvider` (dynamic providers are pickled by reference to their
module), and refresh and delete unpickle that one.
"""

from components.kafka_topic.client import LiveTopic, TopicAdmin
from components.kafka_topic.provider import (
    PartitionDrift,
    TopicProvider,
    fewer_partitions_declared,
    topic_diff,
    topic_failures,
    whole_numbers,
)
from components.kafka_topic.resource import KafkaTopic, TopicArgs

__all__ = [
    "KafkaTopic",
    "LiveTopic",
    "PartitionDrift",
    "TopicAdmin",
    "TopicArgs",
    "TopicProvider",
    "fewer_partitions_declared",
    "topic_diff",
    "topic_failures",
    "whole_numbers",
]
