"""Create the data targets the Pulumi `local` stack would declare (buckets, tables, topics) in the running
emulators, idempotently. Names come from devstack.outputs, i.e. from components.naming."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from schemas import load as load_schema

if TYPE_CHECKING:
    from devstack.platform import Platform

TOPIC_PARTITIONS = 3


def dynamodb_key_schema(dataset: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(KeySchema, AttributeDefinitions) of a dataset's table, derived from its JSON schema."""
    schema = load_schema(dataset)
    keys = [(schema.key[0], "HASH")]
    if schema.sort_key:
        keys.append((schema.sort_key, "RANGE"))
    attr_type = {"integer": "N", "number": "N", "string": "S", "boolean": "S"}
    key_schema = [{"AttributeName": name, "KeyType": kind} for name, kind in keys]
    attributes = [{"AttributeName": name, "AttributeType": attr_type[schema.field(name).json_type]} for name, _ in keys]
    return key_schema, attributes


def _aws_client(service: str, outputs: dict[str, Any]) -> Any:
    import boto3

    creds = outputs["aws_credentials"]
    return boto3.client(
        service,
        endpoint_url=outputs["endpoints"][service],
        region_name=outputs["aws_region"],
        aws_access_key_id=creds["access_key_id"],
        aws_secret_access_key=creds["secret_access_key"],
    )


def provision_aws(outputs: dict[str, Any]) -> None:
    s3 = _aws_client("s3", outputs)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in outputs["s3_buckets"].values():
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
    ddb = _aws_client("dynamodb", outputs)
    tables = set(ddb.list_tables().get("TableNames", []))
    for dataset, table in outputs["dynamodb_tables"].items():
        if table in tables:
            continue
        key_schema, attributes = dynamodb_key_schema(dataset)
        ddb.create_table(
            TableName=table, KeySchema=key_schema, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
        )


def provision_gcs(outputs: dict[str, Any]) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage  # type: ignore[attr-defined]

    client = storage.Client(
        project=outputs["gcp_project"],
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": outputs["endpoints"]["gcs"]},
    )
    existing = {b.name for b in client.list_buckets()}
    for bucket in outputs["gcs_buckets"].values():
        if bucket not in existing:
            client.create_bucket(bucket)


def provision_kafka(outputs: dict[str, Any]) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": outputs["kafka_bootstrap_servers"]})
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [t for t in outputs["kafka_topics"].values() if t not in existing]
    if not wanted:
        return
    futures = admin.create_topics([NewTopic(t, num_partitions=TOPIC_PARTITIONS, replication_factor=1) for t in wanted])
    for topic, fut in futures.items():
        try:
            fut.result(timeout=30)
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise RuntimeError(f"devstack: creating topic {topic!r} failed: {exc}") from exc


def provision(platform: Platform, report: Callable[[str], None] = print) -> None:
    from devstack.outputs import build_outputs

    outputs = build_outputs(platform.cfg)
    running = platform.running()
    if "moto" in running:
        provision_aws(outputs)
        report("provisioned S3 buckets and DynamoDB tables")
    if "gcs" in running:
        provision_gcs(outputs)
        report("provisioned GCS buckets")
    if "kafka" in running:
        provision_kafka(outputs)
        report("provisioned Kafka topics")
