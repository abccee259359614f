"""The batch settings inside Airflow: Variables override the defaults derived from the stack outputs.

The seed's DAG had it backwards (its hard-coded defaults won over the Variables). Here, per value:

    bucket     Variable `s3_landing` (the seed's `s3.landing` is read too)  > outputs.s3_buckets.landing
    GCS bucket Variable `gcs_landing`                                       > outputs.gcs_buckets.landing
               (none: the batch lands in S3 only)
    database   Variable `mongodb_database`                                  > outputs.mongodb_database
    prefix     Variable `s3_landing_prefix`                                 > "dlt"
    collections                                                              outputs.mongodb_collections
                                                                           (else the naming contract)
    MongoDB    Connection `mongo_default` (required: the URI is a secret and never in a Variable)
    S3 access  Connection `aws_default` (keys, extra.endpoint_url, extra.region_name) if it exists,
               else outputs.endpoints.s3 / outputs.aws_region and AWS's default credential chain
    GCS access outputs.endpoints.gcs (an emulator, anonymous) / outputs.gcp_project, else GCP's default chain

The stack outputs reach Airflow as the Variable `stack_outputs` (their public part, no secrets) and the
connections `mongo_default`/`aws_default`, all created by the stack (components/airflow/settings.py) on every
stack. AIRFLOW_VAR_*/AIRFLOW_CONN_* in the workers' environment work too, and win (Airflow's own order).

Only read inside tasks: nothing here runs when the scheduler parses the DAG file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from contract import naming
from contract.lake_layout import DEFAULT_PREFIX, GcsTarget, S3Target, bucket_name, gcs_landing_target
from pipelines.airflow_outputs import AirflowSettingsError, ConnectionFields, mongo_uri, task_lookups
from pipelines.batch.settings import BatchSettings
from schemas import DATASETS

VAR_STACK_OUTPUTS = naming.AIRFLOW_STACK_OUTPUTS_VARIABLE
VAR_BUCKET = "s3_landing"
VAR_BUCKET_SEED = "s3.landing"
VAR_GCS_BUCKET = "gcs_landing"
VAR_DATABASE = "mongodb_database"
VAR_PREFIX = "s3_landing_prefix"
CONN_MONGO = naming.AIRFLOW_MONGO_CONNECTION
CONN_AWS = naming.AIRFLOW_AWS_CONNECTION


def resolve_settings(
    variable: Callable[[str], str | None],
    connection: Callable[[str], ConnectionFields | None],
    region_from_env: str | None = None,
) -> BatchSettings:
    """Settings from Airflow's Variables and Connections (given as lookups returning None when absent)."""
    raw_outputs = variable(VAR_STACK_OUTPUTS)
    try:
        outputs: dict[str, Any] = json.loads(raw_outputs) if raw_outputs else {}
    except json.JSONDecodeError as exc:
        raise AirflowSettingsError(f"Variable {VAR_STACK_OUTPUTS!r} is not JSON: {exc}") from None

    bucket = variable(VAR_BUCKET) or variable(VAR_BUCKET_SEED) or (outputs.get("s3_buckets") or {}).get("landing")
    database = variable(VAR_DATABASE) or outputs.get("mongodb_database")
    if not bucket or not database:
        missing = [n for n, v in ((VAR_BUCKET, bucket), (VAR_DATABASE, database)) if not v]
        raise AirflowSettingsError(
            f"no value for {', '.join(missing)}: set the Variable(s), or write the stack outputs into Airflow "
            f"with `make up STACK=<stack>` (the stack creates the Variable {VAR_STACK_OUTPUTS!r})"
        )
    collections = outputs.get("mongodb_collections") or _collections_by_naming()

    mongo = connection(CONN_MONGO)
    if mongo is None:
        raise AirflowSettingsError(
            f"no Airflow connection {CONN_MONGO!r}: the stack creates it (`make up STACK=<stack>`), or set "
            f"AIRFLOW_CONN_{CONN_MONGO.upper()}=mongodb://...)"
        )
    aws = connection(CONN_AWS)
    aws_extra = dict(aws.extra) if aws else {}
    endpoint = aws_extra.get("endpoint_url") or (outputs.get("endpoints") or {}).get("s3")
    region = aws_extra.get("region_name") or outputs.get("aws_region") or region_from_env
    prefix = variable(VAR_PREFIX) or DEFAULT_PREFIX
    return BatchSettings(
        mongodb_uri=mongo_uri(mongo),
        mongodb_database=database,
        collections=dict(collections),
        target=S3Target(
            bucket=bucket_name(bucket),
            prefix=prefix,
            region=region,
            endpoint_url=endpoint,
            access_key_id=aws.login if aws and aws.login else None,
            secret_access_key=aws.password if aws and aws.login else None,
        ),
        gcs_target=_gcs_target(outputs, variable(VAR_GCS_BUCKET), prefix),
    )


def _gcs_target(outputs: dict[str, Any], bucket: str | None, prefix: str) -> GcsTarget | None:
    try:
        return gcs_landing_target(outputs, bucket, prefix)
    except ValueError as exc:
        raise AirflowSettingsError(f"Variable {VAR_GCS_BUCKET!r}: {exc}") from None


def _collections_by_naming() -> dict[str, str]:
    from contract import naming

    return {d: naming.mongodb_collection(naming.DEFAULT_PREFIX, d) for d in DATASETS}


def settings_from_airflow() -> BatchSettings:
    """Inside a running task: read the Variables and Connections through Airflow's Task SDK."""
    import os

    return resolve_settings(*task_lookups(), os.environ.get("AWS_DEFAULT_REGION"))


__all__ = ["AirflowSettingsError", "ConnectionFields", "mongo_uri", "resolve_settings", "settings_from_airflow"]
