"""The emulated cloud account devstack runs: region, project, keys, and the names of its buckets and tables,
derived from the same naming and schema functions the Pulumi components use (contract.naming, schemas)."""

from __future__ import annotations

from contract import naming
from schemas import load as load_schema

STACK = "devstack"
PREFIX = naming.DEFAULT_PREFIX
AWS_REGION = "us-east-1"
GCP_PROJECT = "kde-devstack"
FIRESTORE_DATABASE = "(default)"
#: moto accepts any keys; these exist only so clients sign requests
FAKE_AWS_CREDENTIALS = {"access_key_id": "devstack", "secret_access_key": "devstack-secret"}


def s3_buckets() -> dict[str, str]:
    return {role: naming.s3_bucket(PREFIX, STACK, role) for role in naming.S3_BUCKET_ROLES}


def dynamodb_tables() -> dict[str, str]:
    return {d: naming.dynamodb_table(PREFIX, STACK, d) for d in naming.DYNAMODB_DATASETS}


def gcs_buckets() -> dict[str, str]:
    return {role: naming.gcs_bucket(PREFIX, STACK, role) for role in naming.GCS_BUCKET_ROLES}


def dynamodb_table_definition(dataset: str) -> dict[str, list[dict[str, str]]]:
    """KeySchema and AttributeDefinitions of a dataset's table (boto3 `create_table` arguments)."""
    keys = load_schema(dataset).dynamodb_keys()
    return {
        "KeySchema": [{"AttributeName": k.attribute, "KeyType": k.role} for k in keys],
        "AttributeDefinitions": [{"AttributeName": k.attribute, "AttributeType": k.type} for k in keys],
    }
