"""The batch settings inside Airflow: Variables override the defaults derived from the stack outputs.

The seed's DAG had it backwards (its hard-coded defaults won over the Variables). Here, per value:

    bucket     Variable `s3_landing` (the seed's `s3.landing` is read too)  > outputs.s3_buckets.landing
    database   Variable `mongodb_database`                                  > outputs.mongodb_database
    prefix     Variable `s3_landing_prefix`                                 > "dlt"
    collections                                                              outputs.mongodb_collections
                                                                           (else the naming contract)
    MongoDB    Connection `mongo_default` (required: the URI is a secret and never in a Variable)
    S3 access  Connection `aws_default` (keys, extra.endpoint_url, extra.region_name) if it exists,
               else outputs.endpoints.s3 / outputs.aws_region and AWS's default credential chain

The stack outputs reach Airflow as the Variable `stack_outputs` (their public part, no secrets) and the
connections `mongo_default`/`aws_default`, all created by the stack (components/airflow_settings.py) on every
stack. AIRFLOW_VAR_*/AIRFLOW_CONN_* in the workers' environment work too, and win (Airflow's own order).

Only read inside tasks: nothing here runs when the scheduler parses the DAG file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from pipelines.batch.settings import DEFAULT_PREFIX, BatchSettings, S3Target, bucket_name
from schemas import DATASETS

VAR_STACK_OUTPUTS = "stack_outputs"
VAR_BUCKET = "s3_landing"
VAR_BUCKET_SEED = "s3.landing"
VAR_DATABASE = "mongodb_database"
VAR_PREFIX = "s3_landing_prefix"
CONN_MONGO = "mongo_default"
CONN_AWS = "aws_default"


class AirflowSettingsError(RuntimeError):
    pass


@dataclass(frozen=True)
class ConnectionFields:
    """The parts of an Airflow Connection we read (decoupled from Airflow's class for testing)."""

    conn_type: str | None = None
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def mongo_uri(conn: ConnectionFields) -> str:
    """A MongoDB URI from a connection: `extra.uri` if given, else built from host/port/login/schema/extra
    (`extra.srv: true` -> `mongodb+srv://`; the other extras become URI options, e.g. authSource)."""
    extra = dict(conn.extra)
    if extra.get("uri"):
        return str(extra["uri"])
    if not conn.host:
        raise AirflowSettingsError(f"connection {CONN_MONGO!r} has no host")
    srv = str(extra.pop("srv", "")).lower() in ("true", "1", "yes")
    auth = ""
    if conn.login:
        auth = quote(conn.login, safe="")
        if conn.password:
            auth += ":" + quote(conn.password, safe="")
        auth += "@"
    port = f":{conn.port}" if conn.port and not srv else ""
    query = urlencode({k: v for k, v in extra.items() if v is not None}) if extra else ""
    return f"{'mongodb+srv' if srv else 'mongodb'}://{auth}{conn.host}{port}/{conn.schema or ''}" + (
        f"?{query}" if query else ""
    )


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
    return BatchSettings(
        mongodb_uri=mongo_uri(mongo),
        mongodb_database=database,
        collections=dict(collections),
        target=S3Target(
            bucket=bucket_name(bucket),
            prefix=variable(VAR_PREFIX) or DEFAULT_PREFIX,
            region=region,
            endpoint_url=endpoint,
            access_key_id=aws.login if aws and aws.login else None,
            secret_access_key=aws.password if aws and aws.login else None,
        ),
    )


def _collections_by_naming() -> dict[str, str]:
    from contract import naming

    return {d: naming.mongodb_collection(naming.DEFAULT_PREFIX, d) for d in DATASETS}


def settings_from_airflow() -> BatchSettings:
    """Inside a running task: read the Variables and Connections with the Task SDK (`airflow.sdk`), which asks
    the secrets backends (AIRFLOW_VAR_*/AIRFLOW_CONN_* first) and then the api-server's execution API."""
    import os

    from airflow.sdk import Connection, Variable
    from airflow.sdk.exceptions import AirflowNotFoundException

    def variable(key: str) -> str | None:
        value = Variable.get(key, default=None)
        return str(value) if value not in (None, "") else None

    def connection(conn_id: str) -> ConnectionFields | None:
        try:
            conn = Connection.get(conn_id)
        except AirflowNotFoundException:
            return None
        return ConnectionFields(
            conn_type=conn.conn_type,
            host=conn.host,
            port=conn.port,
            login=conn.login,
            password=conn.password,
            schema=conn.schema,
            extra=conn.extra_dejson,
        )

    return resolve_settings(variable, connection, os.environ.get("AWS_DEFAULT_REGION"))
