"""The stack's Kafka topics and their value-schema subjects, one per dataset, derived from `schemas/`; and the
dead-letter topics of its connectors (no subject: they hold what could not be read, as it was)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NotRequired, Required, TypedDict

import pulumi

from components._outputs import output_map
from components.kafka_topic import KafkaTopic
from components.schema_subject import SchemaSubject, schema_text
from contract import naming
from schemas import load as load_schema

DEFAULT_TOPIC_CONFIGS = {"cleanup.policy": "delete", "retention.ms": str(7 * 24 * 3600 * 1000)}


class KafkaCatalogArgs(TypedDict):
    datasets: Required[Sequence[str]]
    bootstrap_servers: Required[pulumi.Input[str]]
    registry_url: Required[pulumi.Input[str]]
    partitions: NotRequired[int]
    replication_factor: NotRequired[int]
    compatibility: NotRequired[str]
    #: connectors' dead-letter topics (e.g. the S3 sink's): one partition each, the datasets' retention
    dead_letter_topics: NotRequired[Sequence[str]]


class KafkaCatalog(pulumi.ComponentResource):
    topics: dict[str, KafkaTopic]
    subjects: dict[str, SchemaSubject]
    dead_letter_topics: dict[str, KafkaTopic]
    topic_names: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: KafkaCatalogArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:streaming:KafkaCatalog", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topics, self.subjects = {}, {}
        for dataset in args["datasets"]:
            topic = naming.kafka_topic(dataset)
            self.topics[dataset] = KafkaTopic(
                f"topic-{topic}",
                {
                    "bootstrap_servers": args["bootstrap_servers"],
                    "topic": topic,
                    "partitions": args.get("partitions", 3),
                    "replication_factor": args.get("replication_factor", 1),
                    "configs": dict(DEFAULT_TOPIC_CONFIGS),
                },
                child,
            )
            subject = naming.schema_subject(topic)
            self.subjects[dataset] = SchemaSubject(
                f"subject-{subject}",
                {
                    "registry_url": args["registry_url"],
                    "subject": subject,
                    "schema": schema_text(load_schema(dataset).json_schema()),
                    "schema_type": "JSON",
                    "compatibility": args.get("compatibility", "BACKWARD"),
                },
                child,
            )
        self.dead_letter_topics = {
            topic: KafkaTopic(
                f"topic-{topic}",
                {
                    "bootstrap_servers": args["bootstrap_servers"],
                    "topic": topic,
                    "partitions": 1,
                    "replication_factor": args.get("replication_factor", 1),
                    "configs": dict(DEFAULT_TOPIC_CONFIGS),
                },
                child,
            )
            for topic in args.get("dead_letter_topics", ())
        }
        self.topic_names = output_map({d: t.topic for d, t in self.topics.items()})
        self.register_outputs({"topic_names": self.topic_names})
