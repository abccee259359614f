"""Clients built from stack outputs, written once: the emulators' endpoints and keys where the outputs carry
them, the default credential chains on real clouds. Libraries are imported inside each function, so a
consumer pays only for the clients it uses."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from contract.kafka_auth import kafka_auth_config

#: how long a client waits for an unreachable server before it says so
CONNECT_TIMEOUT_S = 10


def _aws_kwargs(outputs: Mapping[str, Any], service: str) -> dict[str, Any]:
    creds = outputs.get("aws_credentials") or {}
    return {
        "region_name": outputs.get("aws_region"),
        "endpoint_url": (outputs.get("endpoints") or {}).get(service),
        "aws_access_key_id": creds.get("access_key_id"),
        "aws_secret_access_key": creds.get("secret_access_key"),
    }


def s3_client(outputs: Mapping[str, Any]) -> Any:
    import boto3

    return boto3.client("s3", **_aws_kwargs(outputs, "s3"))


def dynamodb_client(outputs: Mapping[str, Any]) -> Any:
    import boto3

    return boto3.client("dynamodb", **_aws_kwargs(outputs, "dynamodb"))


def dynamodb_resource(outputs: Mapping[str, Any]) -> Any:
    """A boto3 DynamoDB resource with adaptive retries (throttling backs off instead of failing)."""
    import boto3
    from botocore.config import Config

    return boto3.resource(
        "dynamodb",
        **_aws_kwargs(outputs, "dynamodb"),
        config=Config(retries={"mode": "adaptive", "max_attempts": 10}, connect_timeout=CONNECT_TIMEOUT_S),
    )


def mongo_client(outputs: Mapping[str, Any], **options: Any) -> Any:
    import pymongo

    return pymongo.MongoClient(outputs["mongodb_uri"], serverSelectionTimeoutMS=CONNECT_TIMEOUT_S * 1000, **options)


def firestore_client(outputs: Mapping[str, Any]) -> Any:
    """On emulators the outputs' `endpoints.firestore` becomes FIRESTORE_EMULATOR_HOST (the client's only
    switch for it)."""
    from google.cloud import firestore  # type: ignore[attr-defined]

    endpoint = (outputs.get("endpoints") or {}).get("firestore")
    if endpoint:
        os.environ["FIRESTORE_EMULATOR_HOST"] = endpoint
    return firestore.Client(project=outputs["gcp_project"], database=outputs["firestore_database"])


def gcs_client(outputs: Mapping[str, Any]) -> Any:
    from google.cloud import storage  # type: ignore[attr-defined]

    endpoint = (outputs.get("endpoints") or {}).get("gcs")
    if not endpoint:
        return storage.Client(project=outputs["gcp_project"])
    from google.auth.credentials import AnonymousCredentials

    return storage.Client(
        project=outputs["gcp_project"],
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": endpoint},
    )


def kafka_config(outputs: Mapping[str, Any], **settings: Any) -> dict[str, Any]:
    """librdkafka settings for the stack's brokers (`settings` added, e.g. `group.id`)."""
    return {"bootstrap.servers": outputs["kafka_bootstrap_servers"], **kafka_auth_config(outputs), **settings}


def registry_client(outputs: Mapping[str, Any]) -> Any:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient({"url": outputs["schema_registry_url"]})
