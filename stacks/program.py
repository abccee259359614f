"""The stack program: typed config -> components -> the outputs contract (stacks/outputs.py).

`dev`: real AWS + GCP, streaming/orchestration on local Docker (as the seed).
`local` (`emulated: true`): no cloud account; AWS/GCP providers point at emulator containers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from components import naming
from components.aws_lake import AwsLake
from components.connect import Connector, S3SinkSettings, s3_sink_config
from components.emulators import (
    FAKE_ACCESS_KEY_ID,
    FAKE_SECRET_ACCESS_KEY,
    FIRESTORE_INTERNAL_HOST,
    GCS_INTERNAL_URL,
    MOTO_INTERNAL_URL,
    Emulators,
)
from components.gcp_lake import GcpLake
from components.kafka_catalog import KafkaCatalog
from components.mongodb import MongoDb
from components.orchestration import Orchestration
from components.streaming import INTERNAL_REGISTRY_URL, StreamingPlatform
from schemas import DATASETS
from stacks.config import StackConfig
from stacks.outputs import OUTPUT_KEYS

REPO_ROOT = Path(__file__).resolve().parent.parent
S3_SINK_DATASETS = ("cards",)  # the seed's s3-sink-kde read `cards-data`


def build(cfg: StackConfig) -> dict[str, Any]:
    """Declare every resource of the stack and return its outputs (exactly OUTPUT_KEYS)."""
    prefix, stack = cfg.prefix, cfg.stack
    aws_creds: dict[str, pulumi.Input[str]] | None = None
    if cfg.emulated:
        aws_creds = {
            "access_key_id": FAKE_ACCESS_KEY_ID,
            "secret_access_key": pulumi.Output.secret(FAKE_SECRET_ACCESS_KEY),
        }

    aws_provider: aws.Provider | None = None
    gcp_provider: gcp.Provider | None = None
    if not cfg.emulated:
        aws_provider = aws.Provider("aws", region=cfg.aws_region)
        gcp_provider = gcp.Provider("gcp", project=cfg.gcp_project, region=cfg.gcp_location.lower())
        aws_lake = _aws_lake(cfg, aws_provider, create_sink_user=True)
        connect_env: dict[str, pulumi.Input[str]] = {
            "AWS_REGION": cfg.aws_region,
            "AWS_ACCESS_KEY_ID": aws_lake.sink_access_key_id or "",
            "AWS_SECRET_ACCESS_KEY": aws_lake.sink_secret_access_key or "",
        }
    else:
        connect_env = {
            "AWS_REGION": cfg.aws_region,
            "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": pulumi.Output.secret(FAKE_SECRET_ACCESS_KEY),
        }

    streaming = StreamingPlatform(
        "streaming",
        {
            "prefix": prefix,
            "stack": stack,
            "ports": cfg.ports,
            "images": cfg.images,
            "connect_context": str(REPO_ROOT / "containers" / "connect"),
            "connect_env": connect_env,
        },
    )
    endpoints: pulumi.Input[dict[str, str]] = {}
    if cfg.emulated:
        emulators = Emulators(
            "emulators",
            {
                "prefix": prefix,
                "stack": stack,
                "network": streaming.network,
                "ports": cfg.ports,
                "images": cfg.images,
                "aws_region": cfg.aws_region,
                "gcp_project": cfg.gcp_project,
            },
        )
        aws_provider, gcp_provider = emulators.aws_provider, emulators.gcp_provider
        aws_lake = _aws_lake(cfg, aws_provider, create_sink_user=False)
        endpoints = emulators.endpoints

    assert gcp_provider is not None  # set by the cloud or the emulated branch
    gcp_lake = GcpLake(
        "gcp-lake",
        {
            "prefix": prefix,
            "stack": stack,
            "project": cfg.gcp_project,
            "location": cfg.gcp_location,
            "force_destroy": cfg.force_destroy,
            "with_bigquery": not cfg.emulated,
            "with_firestore_database": not cfg.emulated,
        },
        pulumi.ResourceOptions(providers=[gcp_provider]),
    )
    mongo = MongoDb(
        "mongodb",
        {
            "prefix": prefix,
            "stack": stack,
            "network": streaming.network,
            "port": cfg.ports["mongodb"],
            "image": cfg.images["mongodb"],
            "password": cfg.mongodb_password,
        },
    )
    catalog = KafkaCatalog(
        "kafka-catalog",
        {
            "datasets": cfg.topic_datasets,
            "bootstrap_servers": streaming.bootstrap_servers,
            "registry_url": streaming.schema_registry_url,
            "partitions": cfg.topic_partitions,
            "compatibility": cfg.subject_compatibility,
        },
    )
    sink_topics = tuple(naming.kafka_topic(d) for d in S3_SINK_DATASETS)
    landing = naming.s3_bucket(prefix, stack, "landing")
    sink = Connector(
        naming.S3_SINK_CONNECTOR,
        {
            "name": naming.S3_SINK_CONNECTOR,
            "connect_url": streaming.connect_url,
            "config": s3_sink_config(
                S3SinkSettings(
                    topics=sink_topics,
                    bucket=landing,
                    region=cfg.aws_region,
                    topics_dir=naming.S3_SINK_PREFIX,
                    schema_registry_url=INTERNAL_REGISTRY_URL,
                    flush_size=cfg.s3_sink_flush_size,
                    endpoint_url=MOTO_INTERNAL_URL if cfg.emulated else None,
                    flavour=cfg.s3_sink_flavour,
                )
            ),
        },
        pulumi.ResourceOptions(depends_on=[aws_lake, catalog]),
    )
    airflow_env: dict[str, pulumi.Input[str]] = {"AWS_DEFAULT_REGION": cfg.aws_region}
    if cfg.emulated:
        airflow_env.update(
            {
                "AWS_ENDPOINT_URL": MOTO_INTERNAL_URL,
                "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": pulumi.Output.secret(FAKE_SECRET_ACCESS_KEY),
                "STORAGE_EMULATOR_HOST": GCS_INTERNAL_URL,
                "FIRESTORE_EMULATOR_HOST": FIRESTORE_INTERNAL_HOST,
            }
        )
    orchestration = Orchestration(
        "orchestration",
        {
            "prefix": prefix,
            "stack": stack,
            "network": streaming.network,
            "port": cfg.ports["airflow"],
            "postgres_image": cfg.images["postgres"],
            "build_context": str(REPO_ROOT),
            "dockerfile": str(REPO_ROOT / "containers" / "airflow" / "Dockerfile"),
            "dags_dir": str(REPO_ROOT / "pipelines" / "dags"),
            "variables": {
                "s3_landing": aws_lake.bucket_names.apply(lambda b: b["landing"]),
                "gcs_landing": gcp_lake.bucket_names.apply(lambda b: b["landing"]),
                "mongodb_database": naming.mongodb_database(prefix),
                "gcp_project": cfg.gcp_project,
            },
            "connections": {"mongo_default": mongo.internal_uri},
            "env": airflow_env,
        },
    )
    outputs: dict[str, Any] = {
        "stack": stack,
        "aws_region": cfg.aws_region,
        "gcp_project": cfg.gcp_project,
        "endpoints": endpoints,
        "aws_credentials": pulumi.Output.secret(aws_creds) if aws_creds else None,
        "s3_buckets": aws_lake.bucket_names,
        "dynamodb_tables": aws_lake.table_names,
        "gcs_buckets": gcp_lake.bucket_names,
        "bigquery_datasets": gcp_lake.dataset_ids,
        "firestore_database": gcp_lake.firestore_database,
        "firestore_collections": {d: naming.firestore_collection(d) for d in DATASETS},
        "mongodb_uri": mongo.uri,
        "mongodb_database": naming.mongodb_database(prefix),
        "mongodb_collections": {d: naming.mongodb_collection(prefix, d) for d in DATASETS},
        "kafka_bootstrap_servers": streaming.bootstrap_servers,
        "schema_registry_url": streaming.schema_registry_url,
        "kafka_connect_url": streaming.connect_url,
        "kafka_rest_proxy_url": streaming.rest_proxy_url,
        "kafka_console_url": streaming.console_url,
        "airflow_url": orchestration.url,
        "kafka_topics": catalog.topic_names,
        "s3_sink": sink.name.apply(
            lambda name: {
                "connector": name,
                "topics": list(sink_topics),
                "bucket": landing,
                "prefix": naming.S3_SINK_PREFIX,
            }
        ),
    }
    assert tuple(outputs) == OUTPUT_KEYS, "stacks/program.py and stacks/outputs.py disagree on the output keys"
    return outputs


def _aws_lake(cfg: StackConfig, provider: aws.Provider, *, create_sink_user: bool) -> AwsLake:
    return AwsLake(
        "aws-lake",
        {
            "prefix": cfg.prefix,
            "stack": cfg.stack,
            "dynamodb_datasets": list(cfg.dynamodb_datasets),
            "force_destroy": cfg.force_destroy,
            "create_sink_user": create_sink_user,
            "sink_prefix": naming.S3_SINK_PREFIX,
        },
        pulumi.ResourceOptions(providers=[provider]),
    )
