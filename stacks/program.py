"""The stack program: typed config -> substrate -> platform objects -> the outputs contract (contract/outputs.py).

`dev`: real AWS + GCP, streaming/orchestration on local Docker (as the seed).
`local` (`emulated: true`): no cloud account; AWS/GCP providers point at emulator containers.
`devstack` (`substrate: devstack`): devstack's local processes, no Docker.
`prod` (`streaming: msk`, `orchestration: mwaa`): real AWS + GCP, AWS's managed engines in a private VPC.

On every stack the program itself creates the platform objects: the Kafka topics and their value-schema
subjects, the S3 sink connector, and the Airflow variables and connections that carry the stack outputs to
the DAGs. Nothing else creates them. On `prod` the topics and the sink are AWS resources (MSK topics, an MSK
Connect connector) that the managed substrate declares, and the Airflow settings are Secrets Manager secrets
(the substrate says which: `Substrate.managed`, `Substrate.airflow_settings`).
"""

from __future__ import annotations

import json
from typing import Any

import pulumi

from components.connect import Connector
from components.kafka_catalog import KafkaCatalog
from contract import naming
from contract.outputs import NULLABLE_KEYS, OUTPUT_KEYS, public_outputs
from contract.s3_sink import DEAD_LETTER_TOPIC, S3SinkSettings, s3_sink_config
from schemas import DATASETS
from stacks.config import StackConfig
from stacks.substrate import S3_SINK_DATASETS, Substrate, substrate_for


def build(cfg: StackConfig) -> dict[str, Any]:
    """Declare every resource of the stack and return its outputs (exactly OUTPUT_KEYS)."""
    substrate = substrate_for(cfg)
    topic_names, sink_name = _kafka_platform(cfg, substrate)
    outputs = _stack_outputs(cfg, substrate, topic_names, sink_name)
    _airflow_settings(substrate, outputs)
    return outputs


def _kafka_platform(cfg: StackConfig, substrate: Substrate) -> tuple[pulumi.Output[dict[str, str]], pulumi.Output[str]]:
    """The topics with their value-schema subjects and the S3 sink connector: the program's own, except on the
    managed engines, where the substrate declared them as AWS resources. Returns (dataset -> topic, sink name)."""
    if substrate.managed is not None:
        return substrate.managed.topic_names, substrate.managed.connector_name
    catalog = KafkaCatalog(
        "kafka-catalog",
        {
            "datasets": cfg.topic_datasets,
            "bootstrap_servers": substrate.outputs["kafka_bootstrap_servers"],
            "registry_url": substrate.outputs["schema_registry_url"],
            "partitions": cfg.topic_partitions,
            "compatibility": cfg.subject_compatibility,
            "dead_letter_topics": [DEAD_LETTER_TOPIC],
        },
        pulumi.ResourceOptions(depends_on=substrate.depends_on),
    )
    return catalog.topic_names, _s3_sink(cfg, substrate, catalog).name


def _stack_outputs(
    cfg: StackConfig, substrate: Substrate, topic_names: pulumi.Output[dict[str, str]], sink_name: pulumi.Output[str]
) -> dict[str, Any]:
    """The outputs contract: the substrate's outputs, the datasets' names and the platform objects'."""
    outputs = {
        "stack": cfg.stack,
        **substrate.outputs,
        "firestore_collections": {d: naming.firestore_collection(d) for d in DATASETS},
        "mongodb_database": naming.mongodb_database(cfg.prefix),
        "mongodb_collections": {d: naming.mongodb_collection(cfg.prefix, d) for d in DATASETS},
        "kafka_topics": topic_names,
        "s3_sink": sink_name.apply(
            lambda name: {
                "connector": name,
                "topics": [naming.kafka_topic(d) for d in S3_SINK_DATASETS],
                "bucket": naming.s3_bucket(cfg.prefix, cfg.stack, "landing"),
                "prefix": naming.S3_SINK_PREFIX,
                "flavour": substrate.sink.flavour,
                "dead_letter_topic": DEAD_LETTER_TOPIC,  # records the sink's converter could not read
            }
        ),
    }
    # a nullable key a substrate does not set is left out, as Pulumi leaves out any null output
    return {key: outputs[key] for key in OUTPUT_KEYS if key in outputs or key not in NULLABLE_KEYS}


def _s3_sink(cfg: StackConfig, substrate: Substrate, catalog: KafkaCatalog) -> Connector:
    landing = substrate.outputs["s3_buckets"]
    target = substrate.sink

    def config(args: list[Any]) -> dict[str, dict[str, str]]:
        buckets, registry_url = args
        settings = S3SinkSettings(
            topics=tuple(naming.kafka_topic(d) for d in S3_SINK_DATASETS),
            bucket=buckets["landing"],
            region=cfg.aws_region if cfg.substrate == "docker" else substrate.outputs["aws_region"],
            topics_dir=naming.S3_SINK_PREFIX,
            schema_registry_url=registry_url,
            flush_size=cfg.s3_sink_flush_size,
            endpoint_url=target.s3_endpoint,
            flavour=target.flavour,
            rotate_schedule_interval_ms=cfg.s3_sink_rotate_schedule_interval_ms,
            compression=cfg.s3_sink_compression,
            dead_letter_topic=DEAD_LETTER_TOPIC,
        )
        return s3_sink_config(settings)._asdict()

    built = pulumi.Output.all(landing, target.schema_registry_url).apply(config)
    return Connector(
        naming.S3_SINK_CONNECTOR,
        {
            "name": naming.S3_SINK_CONNECTOR,
            "connect_url": substrate.outputs["kafka_connect_url"],
            "connect_auth": substrate.outputs.get("kafka_connect_auth"),
            "config": pulumi.Output.unsecret(built.apply(lambda c: c["config"])),
            "secret_config": built.apply(lambda c: c["secret_config"]),
            # the sink runs; a pause or stop behind the stack's back, or a failed task, is drift that `up` repairs
            "state": "RUNNING",
        },
        pulumi.ResourceOptions(depends_on=[catalog, *substrate.depends_on]),
    )


def _airflow_settings(substrate: Substrate, outputs: dict[str, Any]) -> pulumi.ComponentResource:
    """The Variable `stack_outputs` (public outputs as Airflow's workers see them) and the connections that
    carry the secret ones; the DAGs read their targets from these only. The substrate says where they go."""
    view = {**outputs, **substrate.airflow_view}
    public = pulumi.Output.from_input(public_outputs(view)).apply(lambda o: json.dumps(o, sort_keys=True))
    return substrate.airflow_settings(
        "airflow-settings",
        {
            "api": substrate.airflow_api,
            "stack_outputs": public,
            "mongodb_uri": view["mongodb_uri"],
            "aws_credentials": view["aws_credentials"],
            "aws_region": view["aws_region"],
            "s3_endpoint": pulumi.Output.from_input(view["endpoints"]).apply(lambda e: (e or {}).get("s3")),
            "warehouse_connection": substrate.warehouse_connection,
        },
    )
