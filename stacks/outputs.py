"""The stack outputs contract: the one place that documents the keys loaders and pipelines read.

Both the Pulumi program (`stacks/__main__.py`, stacks `dev` and `local`) and devstack
(`python -m devstack outputs`) produce exactly this shape, so a consumer never knows which it got.
Read them with :func:`read_outputs` from a Pulumi stack (`--stack NAME`) or a JSON file (`--outputs FILE`).

Keys (all always present; a value that does not apply is ``null`` or ``{}``):

``stack``                    stack name (``dev``, ``local``, or ``devstack``)
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
``kafka_connect_url``        Kafka Connect REST base URL
``kafka_rest_proxy_url``     Kafka REST proxy URL (``null`` where none runs)
``kafka_console_url``        Kafka console URL (``null`` where none runs)
``airflow_url``              Airflow web UI / API base URL
``kafka_topics``             dataset id -> topic name (the seed's ``cards-data``)
``s3_sink``                  ``{"connector", "topics", "bucket", "prefix"}``: where the S3 sink writes
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

OUTPUT_KEYS: tuple[str, ...] = (
    "stack",
    "aws_region",
    "gcp_project",
    "endpoints",
    "aws_credentials",
    "s3_buckets",
    "dynamodb_tables",
    "gcs_buckets",
    "bigquery_datasets",
    "firestore_database",
    "firestore_collections",
    "mongodb_uri",
    "mongodb_database",
    "mongodb_collections",
    "kafka_bootstrap_servers",
    "schema_registry_url",
    "kafka_connect_url",
    "kafka_rest_proxy_url",
    "kafka_console_url",
    "airflow_url",
    "kafka_topics",
    "s3_sink",
)

SECRET_KEYS: frozenset[str] = frozenset({"aws_credentials", "mongodb_uri"})


class OutputsError(RuntimeError):
    """Stack outputs could not be read or do not have the documented shape."""


def validate_outputs(outputs: dict[str, Any], origin: str) -> dict[str, Any]:
    missing = [k for k in OUTPUT_KEYS if k not in outputs]
    if missing:
        raise OutputsError(f"{origin}: missing output key(s) {', '.join(missing)} (see stacks/outputs.py)")
    return outputs


def read_outputs(stack: str | None = None, outputs_file: str | Path | None = None) -> dict[str, Any]:
    """Outputs of a Pulumi stack (needs the `pulumi` CLI) or of a JSON file such as devstack writes."""
    if (stack is None) == (outputs_file is None):
        raise OutputsError("give exactly one of --stack NAME (a Pulumi stack) or --outputs FILE (a JSON file)")
    if outputs_file is not None:
        path = Path(outputs_file)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise OutputsError(
                f"{path}: no such outputs file; write one with `python -m devstack outputs > {path}`"
            ) from None
        except json.JSONDecodeError as exc:
            raise OutputsError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        if not isinstance(data, dict):
            raise OutputsError(f"{path}: expected a JSON object of stack outputs")
        return validate_outputs(data, str(path))
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise OutputsError(
            f"--stack {stack}: the pulumi CLI is not on PATH; install it, or use --outputs FILE from devstack"
        )
    proc = subprocess.run(
        [pulumi, "stack", "output", "--json", "--show-secrets", "--stack", str(stack)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise OutputsError(f"--stack {stack}: `pulumi stack output` failed: {proc.stderr.strip()}")
    return validate_outputs(json.loads(proc.stdout), f"stack {stack}")
