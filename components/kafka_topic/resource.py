"""`KafkaTopic`: the dynamic resource users declare (type `pulumi-python:dynamic/kafka:Topic`): partitions,
replication factor and topic configs, so producers and the sink never rely on auto-creation."""

from __future__ import annotations

from typing import NotRequired, Required, TypedDict

import pulumi
from pulumi.dynamic import Resource

from components.kafka_topic.provider import TopicProvider


class TopicArgs(TypedDict):
    bootstrap_servers: Required[pulumi.Input[str]]
    topic: Required[pulumi.Input[str]]
    partitions: NotRequired[pulumi.Input[int]]
    replication_factor: NotRequired[pulumi.Input[int]]
    configs: NotRequired[pulumi.Input[dict[str, pulumi.Input[str]]]]


class KafkaTopic(Resource, module="kafka", name="Topic"):
    topic: pulumi.Output[str]
    partitions: pulumi.Output[int]

    def __init__(self, resource_name: str, args: TopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        props = {
            "bootstrap_servers": args["bootstrap_servers"],
            "topic": args["topic"],
            "partitions": args.get("partitions", 1),
            "replication_factor": args.get("replication_factor", 1),
            "configs": args.get("configs") or {},
        }
        super().__init__(TopicProvider(), resource_name, props, opts)
