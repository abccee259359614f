"""`python -m pipelines airflow-config`: Airflow's connections and variables for the batch DAG, from stack outputs.

Writes, through Airflow's own CLI (`airflow variables import`, `airflow connections import --overwrite`):
- Variable `stack_outputs`: the public stack outputs (no secrets), the DAG's defaults;
- Connection `mongo_default`: the MongoDB URI (a secret: never a Variable);
- Connection `aws_default`: emulator keys and endpoint (only when the outputs carry keys, i.e. emulators;
  on real clouds the DAG uses the default AWS credential chain of the Airflow workers).
The overriding Variables (`s3_landing`, `mongodb_database`, `s3_landing_prefix`) are left alone: they are
the operator's, and they win over the defaults (pipelines/batch/airflow_settings.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from pipelines.batch.airflow_settings import CONN_AWS, CONN_MONGO, VAR_STACK_OUTPUTS
from pipelines.common import add_outputs_arguments, outputs_from_args, public_outputs

DESCRIPTION = __doc__.split("\n\n", 1)[1] if __doc__ else ""
EPILOG = """\
examples:
  python -m pipelines airflow-config --devstack               the devstack Airflow (its metadata DB)
  python -m pipelines airflow-config --outputs local.json --airflow current
                                                              the Airflow of this environment (AIRFLOW_HOME ...)
"""


def variables(outputs: dict[str, Any]) -> dict[str, str]:
    return {VAR_STACK_OUTPUTS: json.dumps(public_outputs(outputs), sort_keys=True)}


def mongo_connection(uri: str) -> dict[str, Any]:
    """`mongodb[+srv]://user:pw@host:port/db?opts` as Airflow connection fields (the mongo provider's shape)."""
    parts = urlsplit(uri)
    if parts.scheme not in ("mongodb", "mongodb+srv"):
        raise ValueError(f"not a MongoDB URI (scheme {parts.scheme!r})")
    extra: dict[str, Any] = dict(parse_qsl(parts.query))
    if parts.scheme == "mongodb+srv":
        extra["srv"] = True
    if "," in (parts.netloc.rsplit("@", 1)[-1]):
        # a replica-set seed list does not fit host/port: keep the whole URI
        return {"conn_type": "mongo", "extra_dejson": {"uri": uri}}
    conn: dict[str, Any] = {"conn_type": "mongo", "host": parts.hostname, "extra_dejson": extra}
    if parts.port:
        conn["port"] = parts.port
    if parts.username:
        conn["login"] = unquote(parts.username)
    if parts.password:
        conn["password"] = unquote(parts.password)
    database = parts.path.lstrip("/")
    if database:
        conn["schema"] = database
    return conn


def connections(outputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    conns = {CONN_MONGO: mongo_connection(outputs["mongodb_uri"])}
    creds = outputs.get("aws_credentials")
    if creds:
        extra = {"region_name": outputs.get("aws_region")}
        endpoint = (outputs.get("endpoints") or {}).get("s3")
        if endpoint:
            extra["endpoint_url"] = endpoint
        conns[CONN_AWS] = {
            "conn_type": "aws",
            "login": creds["access_key_id"],
            "password": creds["secret_access_key"],
            "extra_dejson": extra,
        }
    return conns


def devstack_airflow_env() -> dict[str, str]:
    """The environment that points the `airflow` CLI at devstack's metadata DB and DAGs folder."""
    from devstack.config import DevstackConfig
    from devstack.services import make

    airflow: Any = make("airflow", DevstackConfig.from_env())  # devstack.services.airflow.Airflow
    airflow.ensure_db()
    return {**os.environ, **airflow.cli_env()}


def airflow_executable() -> str:
    beside = Path(sys.executable).parent / "airflow"
    return str(beside) if beside.exists() else "airflow"


def apply(outputs: dict[str, Any], env: dict[str, str]) -> None:
    """Import the variables and connections with Airflow's CLI; secrets pass through a 0600 temp file."""
    with tempfile.TemporaryDirectory(prefix="airflow-config-") as tmp:
        var_file, conn_file = Path(tmp) / "variables.json", Path(tmp) / "connections.json"
        var_file.write_text(json.dumps(variables(outputs)))
        fd = os.open(conn_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(connections(outputs), handle)
        for args in (
            ["variables", "import", str(var_file), "--action-on-existing-key", "overwrite"],
            ["connections", "import", str(conn_file), "--overwrite"],
        ):
            proc = subprocess.run([airflow_executable(), *args], env=env, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"`airflow {' '.join(args[:2])}` failed: {(proc.stderr or proc.stdout).strip()}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_outputs_arguments(parser)
    parser.add_argument(
        "--airflow",
        choices=("devstack", "current"),
        default="devstack",
        help="which Airflow: devstack's (default) or the one this environment's AIRFLOW_* settings point at",
    )


def run(args: argparse.Namespace) -> int:
    outputs = outputs_from_args(args)
    env = devstack_airflow_env() if args.airflow == "devstack" else dict(os.environ)
    apply(outputs, env)
    names = ", ".join(connections(outputs))
    print(f"Airflow: Variable {VAR_STACK_OUTPUTS} (stack {outputs.get('stack')}) and connection(s) {names} written")
    return 0
