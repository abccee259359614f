"""The outputs of the platform devstack runs, in the shape of the Pulumi `local` stack (stacks/outputs.py)."""

from __future__ import annotations

from typing import Any

from components import naming
from devstack.config import DevstackConfig
from schemas import DATASETS
from stacks.outputs import validate_outputs

STACK = "local"
PREFIX = naming.DEFAULT_PREFIX
AWS_REGION = "us-east-1"
GCP_PROJECT = "kde-local"
#: moto accepts any keys; these exist only so clients sign requests
FAKE_AWS_CREDENTIALS = {"access_key_id": "devstack", "secret_access_key": "devstack-secret"}


def build_outputs(cfg: DevstackConfig) -> dict[str, Any]:
    host = cfg.host
    moto = cfg.url("moto")
    outputs: dict[str, Any] = {
        "stack": STACK,
        "aws_region": AWS_REGION,
        "gcp_project": GCP_PROJECT,
        "endpoints": {
            "s3": moto,
            "dynamodb": moto,
            "gcs": cfg.url("gcs"),
            "firestore": f"{host}:{cfg.port('firestore')}",
        },
        "aws_credentials": dict(FAKE_AWS_CREDENTIALS),
        "s3_buckets": {r: naming.s3_bucket(PREFIX, STACK, r) for r in naming.S3_BUCKET_ROLES},
        "dynamodb_tables": {d: naming.dynamodb_table(PREFIX, STACK, d) for d in naming.DYNAMODB_DATASETS},
        "gcs_buckets": {r: naming.gcs_bucket(PREFIX, STACK, r) for r in naming.GCS_BUCKET_ROLES},
        "bigquery_datasets": {},
        "firestore_database": "(default)",
        "firestore_collections": {d: naming.firestore_collection(d) for d in DATASETS},
        "mongodb_uri": f"mongodb://{host}:{cfg.port('ferretdb')}/",
        "mongodb_database": naming.mongodb_database(PREFIX),
        "mongodb_collections": {d: naming.mongodb_collection(PREFIX, d) for d in DATASETS},
        "kafka_bootstrap_servers": f"{host}:{cfg.port('kafka')}",
        "schema_registry_url": _registry_url(cfg),
        "kafka_connect_url": cfg.url("connect"),
        "kafka_rest_proxy_url": None,
        "kafka_console_url": None,
        "airflow_url": cfg.url("airflow"),
        "kafka_topics": {d: naming.kafka_topic(d) for d in DATASETS},
        "s3_sink": {
            "connector": naming.S3_SINK_CONNECTOR,
            "topics": [naming.kafka_topic("cards")],
            "bucket": naming.s3_bucket(PREFIX, STACK, "landing"),
            "prefix": naming.S3_SINK_PREFIX,
        },
    }
    return validate_outputs(outputs, "devstack")


def _registry_url(cfg: DevstackConfig) -> str:
    # the registry service knows its Confluent-compatible base path (e.g. Apicurio's /apis/ccompat/v7)
    from devstack.services import make

    svc = make("registry", cfg)
    base_path: str = getattr(svc, "ccompat_path", "")
    return cfg.url("registry") + base_path
