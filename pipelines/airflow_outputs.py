"""The stack outputs inside an Airflow task, from the Airflow settings the stack creates (contract.naming):
the public outputs from the Variable `stack_outputs`, the MongoDB URI from the connection `mongo_default`, the
AWS keys (emulators only) from `aws_default`. Both DAGs read their targets through here and nothing else.

Only called inside tasks: nothing here runs when Airflow parses a DAG file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from contract import naming
from contract.outputs import StackOutputs, validate_outputs


class AirflowSettingsError(RuntimeError):
    """A Variable or Connection the DAGs need is missing or malformed; the message names it."""


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


VariableLookup = Callable[[str], "str | None"]
ConnectionLookup = Callable[[str], "ConnectionFields | None"]


def mongo_uri(conn: ConnectionFields) -> str:
    """A MongoDB URI from a connection: `extra.uri` if given, else built from host/port/login/schema/extra
    (`extra.srv: true` -> `mongodb+srv://`; the other extras become URI options, e.g. authSource)."""
    extra = dict(conn.extra)
    if extra.get("uri"):
        return str(extra["uri"])
    if not conn.host:
        raise AirflowSettingsError(f"connection {naming.AIRFLOW_MONGO_CONNECTION!r} has no host")
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


def outputs_from_settings(variable: VariableLookup, connection: ConnectionLookup) -> StackOutputs:
    """The stack outputs from the Airflow settings, given as lookups that return None when one is absent."""
    name = naming.AIRFLOW_STACK_OUTPUTS_VARIABLE
    raw = variable(name)
    if not raw:
        raise AirflowSettingsError(f"Airflow Variable {name!r} is missing: the stack creates it (`make up`)")
    try:
        outputs: dict[str, Any] = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise AirflowSettingsError(f"Airflow Variable {name!r}: not JSON ({exc.msg})") from None
    mongo = connection(naming.AIRFLOW_MONGO_CONNECTION)
    if mongo is None:
        raise AirflowSettingsError(
            f"Airflow connection {naming.AIRFLOW_MONGO_CONNECTION!r} is missing: the stack creates it (`make up`)"
        )
    outputs["mongodb_uri"] = mongo_uri(mongo)
    aws = connection(naming.AIRFLOW_AWS_CONNECTION)
    outputs["aws_credentials"] = (
        {"access_key_id": aws.login, "secret_access_key": aws.password} if aws is not None and aws.login else None
    )
    return validate_outputs(outputs, "Airflow settings")


def task_lookups() -> tuple[VariableLookup, ConnectionLookup]:
    """Inside a running task: Variables and Connections through the Task SDK (Airflow's secrets backends, then
    its metadata DB, over the execution API)."""
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

    return variable, connection


def outputs_in_task() -> StackOutputs:
    return outputs_from_settings(*task_lookups())
