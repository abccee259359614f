"""The one naming helper: every resource name, data-target name and platform-object name is derived here.

Pure Python (no Pulumi import), so devstack, the stacks and the consumers derive exactly the same names.
"""

from __future__ import annotations

import re

from schemas import load as load_schema

#: The seed's project prefix (its buckets were `kde-landing`, its Mongo database `kde-db`).
DEFAULT_PREFIX = "kde"

S3_BUCKET_ROLES: tuple[str, ...] = ("landing", "staging", "persist", "artifact")
GCS_BUCKET_ROLES: tuple[str, ...] = ("landing", "staging", "curated")
BIGQUERY_DATASET_ROLES: tuple[str, ...] = ("silver", "gold")
#: datasets that get a DynamoDB table (the three CSV datasets; the seed had `cards-data`)
DYNAMODB_DATASETS: tuple[str, ...] = ("cards", "users", "transactions")
S3_SINK_CONNECTOR = "s3-sink-kde"
S3_SINK_PREFIX = "kafka/topics"

_VALID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _check(part: str, what: str) -> str:
    if not _VALID.match(part):
        raise ValueError(f"{what} {part!r}: use lowercase letters, digits and '-' only")
    return part


def resource_name(prefix: str, stack: str, role: str) -> str:
    """`<prefix>-<stack>-<role>`: logical and physical names of cloud resources (S3, DynamoDB, GCS)."""
    return "-".join(_check(p, w) for p, w in ((prefix, "prefix"), (stack, "stack"), (role, "role")))


def s3_bucket(prefix: str, stack: str, role: str) -> str:
    return resource_name(prefix, stack, role)


def gcs_bucket(prefix: str, stack: str, role: str) -> str:
    # the seed's GCS buckets were kde_finance_<role>; GCS allows '-' too, and one style reads better
    return resource_name(prefix, stack, f"finance-{role}")


def bigquery_dataset(prefix: str, stack: str, role: str) -> str:
    # BigQuery dataset ids allow letters, digits and underscores only
    return resource_name(prefix, stack, f"finance-{role}").replace("-", "_")


def dataset_title(dataset: str) -> str:
    """The seed's hyphenated dataset name (`cards-data`): topic, Firestore collection, table suffix."""
    return load_schema(dataset).title


def dynamodb_table(prefix: str, stack: str, dataset: str) -> str:
    return resource_name(prefix, stack, dataset_title(dataset))


def kafka_topic(dataset: str) -> str:
    return dataset_title(dataset)


def schema_subject(topic: str) -> str:
    """Confluent TopicNameStrategy: the value schema of `topic` lives under `<topic>-value`."""
    return f"{topic}-value"


def firestore_collection(dataset: str) -> str:
    return dataset_title(dataset)


def mongodb_database(prefix: str) -> str:
    return f"{_check(prefix, 'prefix')}-db"


def mongodb_collection(prefix: str, dataset: str) -> str:
    """The seed's Mongo naming: `<prefix>-finance-<name>` (e.g. `kde-finance-cards-data`)."""
    return f"{_check(prefix, 'prefix')}-finance-{dataset_title(dataset)}"


#: the Airflow objects every stack creates and the DAGs read (pipelines/dags): the public stack outputs as
#: one JSON Variable, the secrets as Connections
AIRFLOW_STACK_OUTPUTS_VARIABLE = "stack_outputs"
AIRFLOW_MONGO_CONNECTION = "mongo_default"
AIRFLOW_AWS_CONNECTION = "aws_default"

#: the warehouse the transformations (dbt) build: BigQuery datasets on the clouds (bigquery_dataset), DuckDB
#: schemas (duckdb_schema) in one file elsewhere (devstack: under its home; `local`: in the Airflow container)
DUCKDB_WAREHOUSE_DIR = "warehouse"
DUCKDB_WAREHOUSE_FILE = "finance.duckdb"
#: the connection that carries the BigQuery warehouse's service-account key to the transformations
AIRFLOW_WAREHOUSE_CONNECTION = "warehouse_bigquery"


def duckdb_schema(role: str) -> str:
    return _check(role, "role")


def transform_service_account(prefix: str, stack: str) -> str:
    """The transformations' GCP service account id (6-30 characters, starting with a letter)."""
    account = resource_name(prefix, stack, "transform")
    if not 6 <= len(account) <= 30 or not account[0].isalpha():
        raise ValueError(f"service account {account!r}: 6-30 characters starting with a letter (shorten the prefix)")
    return account
