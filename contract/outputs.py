"""The stack outputs contract: the one place that documents the keys loaders and pipelines read.

Every stack of the Pulumi program (`dev`, `local`, `devstack`, `prod`) exports exactly this shape, so a consumer never
knows which it got. Read them with :func:`read_outputs` from a Pulumi stack (`--stack NAME`) or a JSON file
(`--outputs FILE`, e.g. `python -m stacks outputs --stack devstack --file F`).

Keys (all always present; a value that does not apply is ``null`` or ``{}``):

``stack``                    stack name (``dev``, ``local``, ``devstack`` or ``prod``)
``aws_region``               region of the AWS resources (S3, DynamoDB)
``gcp_project``              GCP project id (a fake id on emulators)
``endpoints``                emulator endpoints, ``{}`` on real clouds. Keys: ``s3``, ``dynamodb`` (URLs),
                             ``gcs`` (URL), ``firestore`` (``host:port``, no scheme)
``aws_credentials``          SECRET. ``{"access_key_id", "secret_access_key"}`` for emulators, ``null`` on
                             real clouds (use the default credential chain / profile)
``s3_buckets``               ``{"landing", "staging", "persist", "artifact"}`` -> bucket name
``dynamodb_tables``          dataset id -> table name (datasets that have a table)
``gcs_buckets``              ``{"landing", "staging", "curated"}`` -> bucket name
``bigquery_datasets``        ``{"silver", "gold"}`` -> dataset id (``{}`` where BigQuery has no emulator)
``firestore_database``       Firestore database id, ``(default)``
``firestore_collections``    dataset id -> collection name
``mongodb_uri``              SECRET. MongoDB connection URI
``mongodb_database``         database name (the seed's ``kde-db``)
``mongodb_collections``      dataset id -> collection (the seed's ``<prefix>-finance-<name>``)
``kafka_bootstrap_servers``  ``host:port[,host:port]``
``schema_registry_url``      Confluent-compatible schema registry base URL
``kafka_connect_url``        Kafka Connect REST base URL; on ``prod`` the MSK Connect API endpoint of the region
                             (MSK Connect has no Connect REST API; the connector is an AWS resource)
``kafka_connect_auth``       SECRET. ``{"username", "password"}``: HTTP basic auth of the Connect REST API, ``null``
                             where the API takes anonymous calls (the Docker stacks) or there is none (``prod``)
``kafka_rest_proxy_url``     Kafka REST proxy URL (``null`` where none runs)
``kafka_console_url``        Kafka console URL (``null`` where none runs)
``airflow_url``              Airflow web UI / API base URL
``kafka_topics``             dataset id -> topic name (the seed's ``cards-data``), created by the stack
``s3_sink``                  ``{"connector", "topics", "bucket", "prefix", "flavour"}``: the S3 sink connector
                             the stack created, where it writes, and which plugin runs it (contract.s3_sink)
``kafka_auth``               how clients authenticate to the brokers: ``null`` (plaintext, every stack but
                             ``prod``) or ``{"mechanism": "AWS_MSK_IAM", "region"}`` (MSK IAM over TLS: clients
                             sign a token with their default AWS credential chain; see contract.kafka_auth)
``warehouse``                where the transformations (dbt: silver and gold) build, :class:`WarehouseOutputs`:
                             ``kind`` (``"duckdb"`` or ``"bigquery"``); ``silver``, ``gold`` (DuckDB schema names or
                             BigQuery dataset ids); ``path`` (DuckDB: the database file, as Airflow's workers see
                             it; else ``null``); ``project``, ``location`` (BigQuery; else ``null``);
                             ``airflow_connection`` (the Airflow connection id that carries the warehouse's
                             credentials, the transformations' service-account key on BigQuery; ``null`` for DuckDB)

devstack publishes the part it owns, the **substrate** (:data:`SUBSTRATE_KEYS`: processes, endpoints,
credentials, the emulated account's buckets and tables, which S3 sink plugin its worker has, the Connect REST
API's and the Airflow API's logins, and the DuckDB warehouse file under its home); the `devstack` stack reads
that and adds the platform objects it creates.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

from contract import backend, naming

PROJECT = "modern-data-pipeline"


class S3SinkOutputs(TypedDict):
    connector: str
    topics: list[str]
    bucket: str
    prefix: str
    flavour: str


WAREHOUSE_KINDS: tuple[str, ...] = ("duckdb", "bigquery")


class WarehouseOutputs(TypedDict):
    kind: str  # one of WAREHOUSE_KINDS
    silver: str
    gold: str
    path: str | None  # DuckDB only
    project: str | None  # BigQuery only
    location: str | None  # BigQuery only
    airflow_connection: str | None  # BigQuery only: the connection carrying the service-account key


class StackOutputs(TypedDict):
    stack: str
    aws_region: str
    gcp_project: str
    endpoints: dict[str, str]
    aws_credentials: dict[str, str] | None
    s3_buckets: dict[str, str]
    dynamodb_tables: dict[str, str]
    gcs_buckets: dict[str, str]
    bigquery_datasets: dict[str, str]
    firestore_database: str
    firestore_collections: dict[str, str]
    mongodb_uri: str
    mongodb_database: str
    mongodb_collections: dict[str, str]
    kafka_bootstrap_servers: str
    schema_registry_url: str
    kafka_connect_url: str
    kafka_connect_auth: dict[str, str] | None
    kafka_rest_proxy_url: str | None
    kafka_console_url: str | None
    airflow_url: str
    kafka_topics: dict[str, str]
    s3_sink: S3SinkOutputs
    kafka_auth: dict[str, str] | None
    warehouse: WarehouseOutputs


OUTPUT_KEYS: tuple[str, ...] = tuple(StackOutputs.__annotations__)
SECRET_KEYS: frozenset[str] = frozenset({"aws_credentials", "mongodb_uri", "kafka_connect_auth"})
S3_SINK_KEYS: tuple[str, ...] = tuple(S3SinkOutputs.__annotations__)
WAREHOUSE_KEYS: tuple[str, ...] = tuple(WarehouseOutputs.__annotations__)
#: the warehouse keys that apply to one kind only (null for the other); Pulumi may drop a nested null
_WAREHOUSE_ONLY: dict[str, tuple[str, ...]] = {
    "duckdb": ("path",),
    "bigquery": ("project", "location", "airflow_connection"),
}

#: what devstack publishes (`python -m devstack outputs`): the stack outputs it owns, plus the S3 sink plugin
#: its worker runs, the Airflow API login (SECRET) the stack's Airflow resources use, and its DuckDB warehouse
SUBSTRATE_KEYS: tuple[str, ...] = (
    "aws_region",
    "gcp_project",
    "endpoints",
    "aws_credentials",
    "s3_buckets",
    "dynamodb_tables",
    "gcs_buckets",
    "bigquery_datasets",
    "firestore_database",
    "mongodb_uri",
    "kafka_bootstrap_servers",
    "schema_registry_url",
    "kafka_connect_url",
    "kafka_connect_auth",
    "kafka_rest_proxy_url",
    "kafka_console_url",
    "airflow_url",
    "s3_sink_flavour",
    "airflow_api",
    "warehouse",
)
SUBSTRATE_SECRET_KEYS: frozenset[str] = frozenset(
    {"aws_credentials", "mongodb_uri", "airflow_api", "kafka_connect_auth"}
)

_STRING_MAPS = (
    "endpoints",
    "s3_buckets",
    "dynamodb_tables",
    "gcs_buckets",
    "bigquery_datasets",
    "firestore_collections",
    "mongodb_collections",
    "kafka_topics",
)
_OPTIONAL_STRINGS = ("kafka_rest_proxy_url", "kafka_console_url")
_OPTIONAL_MAPS = ("aws_credentials", "airflow_api", "kafka_auth", "kafka_connect_auth")


class OutputsError(RuntimeError):
    """Stack outputs could not be read or do not have the documented shape; the message names the key."""


def _shape_problem(key: str, value: Any) -> str | None:
    if key in _STRING_MAPS:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            return "a map of names to strings"
    elif key in _OPTIONAL_STRINGS:
        if value is not None and not isinstance(value, str):
            return "a string or null"
    elif key in _OPTIONAL_MAPS:
        if value is not None and not isinstance(value, dict):
            return "an object or null"
    elif key == "s3_sink":
        if not isinstance(value, dict) or any(k not in value for k in S3_SINK_KEYS):
            return f"an object with {', '.join(S3_SINK_KEYS)}"
    elif key == "warehouse":
        return _warehouse_problem(value)
    elif not isinstance(value, str) or not value:
        return "a non-empty string"
    return None


def _warehouse_problem(value: Any) -> str | None:
    if not isinstance(value, dict) or value.get("kind") not in WAREHOUSE_KINDS:
        return f"an object whose kind is {' or '.join(WAREHOUSE_KINDS)}"
    kind = value["kind"]
    for name in ("silver", "gold", *_WAREHOUSE_ONLY[kind]):
        if not isinstance(value.get(name), str) or not value[name]:
            return f"an object with a non-empty {name} for kind {kind}"
    other = next(k for k in WAREHOUSE_KINDS if k != kind)
    for name in _WAREHOUSE_ONLY[other]:
        if value.get(name) is not None:
            return f"an object with {name} null for kind {kind}"
    return None


def duckdb_warehouse(path: str) -> WarehouseOutputs:
    """The `warehouse` of a DuckDB file at `path` (as Airflow's workers see it): devstack's and stack `local`'s."""
    return {
        "kind": "duckdb",
        "silver": naming.duckdb_schema("silver"),
        "gold": naming.duckdb_schema("gold"),
        "path": path,
        "project": None,
        "location": None,
        "airflow_connection": None,
    }


def complete_warehouse(value: Any) -> Any:
    """The warehouse with a null for each key of the other kind that is absent (Pulumi drops nested nulls)."""
    if not isinstance(value, dict):
        return value
    return {**{name: None for name in WAREHOUSE_KEYS}, **value}


def _validate(outputs: Mapping[str, Any], keys: tuple[str, ...], origin: str) -> None:
    missing = [k for k in keys if k not in outputs]
    if missing:
        raise OutputsError(f"{origin}: missing output key(s) {', '.join(missing)} (see contract/outputs.py)")
    for key in keys:
        problem = _shape_problem(key, outputs[key])
        if problem:
            raise OutputsError(f"{origin}: output {key!r} must be {problem}, got {json.dumps(outputs[key])[:80]}")


#: keys whose value may be null; Pulumi drops null outputs from a stack, so their absence means null
NULLABLE_KEYS = (*_OPTIONAL_STRINGS, "aws_credentials", "kafka_auth", "kafka_connect_auth")


def validate_outputs(outputs: Mapping[str, Any], origin: str) -> StackOutputs:
    """The outputs (a null for each absent nullable key) if every key of the contract is there in its documented
    shape; else OutputsError naming the key."""
    complete = {**{key: None for key in NULLABLE_KEYS}, **outputs}
    if "warehouse" in complete:
        complete["warehouse"] = complete_warehouse(complete["warehouse"])
    _validate(complete, OUTPUT_KEYS, origin)
    return complete  # type: ignore[return-value]  # checked key by key above


def validate_substrate(substrate: Mapping[str, Any], origin: str) -> dict[str, Any]:
    complete = dict(substrate)
    if "warehouse" in complete:
        complete["warehouse"] = complete_warehouse(complete["warehouse"])
    _validate(complete, SUBSTRATE_KEYS, origin)
    return complete


def public_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The outputs without their secret keys (safe for Airflow Variables, logs and reports)."""
    return {k: v for k, v in outputs.items() if k not in SECRET_KEYS}


def read_json_file(path: Path, what: str, hint: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OutputsError(f"{path}: no such {what} file; {hint}") from None
    except json.JSONDecodeError as exc:
        raise OutputsError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise OutputsError(f"{path}: expected a JSON object of {what}")
    return data


def read_outputs(stack: str | None = None, outputs_file: str | Path | None = None) -> StackOutputs:
    """Outputs of a Pulumi stack (this checkout's backend, or the user's PULUMI_BACKEND_URL) or of a JSON file."""
    if (stack is None) == (outputs_file is None):
        raise OutputsError("give exactly one of --stack NAME (a Pulumi stack) or --outputs FILE (a JSON file)")
    if outputs_file is not None:
        path = Path(outputs_file)
        hint = f"write one with `python -m stacks outputs --stack devstack --file {path}`"
        return validate_outputs(read_json_file(path, "outputs", hint), str(path))
    return validate_outputs(stack_outputs(str(stack)), f"stack {stack}")


def stack_outputs(stack: str) -> dict[str, Any]:
    """`pulumi stack output --json --show-secrets` of `stack` in this project."""
    try:
        pulumi = backend.pulumi_executable()
    except backend.BackendError as exc:
        raise OutputsError(f"--stack {stack}: {exc}; or use --outputs FILE") from None
    import os

    proc = subprocess.run(
        [pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack],
        capture_output=True,
        text=True,
        check=False,
        cwd=backend.ROOT,
        env={**os.environ, **backend.engine_env()},
    )
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise OutputsError(f"--stack {stack}: `pulumi stack output` failed: {reason} (run `make up STACK={stack}`)")
    result: dict[str, Any] = json.loads(proc.stdout)
    if not result:
        raise OutputsError(f"--stack {stack}: the stack has no outputs yet; run `make up STACK={stack}`")
    return result
