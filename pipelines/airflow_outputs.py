"""The stack outputs inside an Airflow task, from the Airflow settings the stack creates (contract.naming):
the public outputs from the Variable `stack_outputs`, the MongoDB URI from the connection `mongo_default`, the
AWS keys (emulators only) from `aws_default`. The DAGs read their targets from these and nothing else.

Only called inside tasks: nothing here runs when Airflow parses a DAG file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from contract import naming
from contract.outputs import OutputsError, StackOutputs, validate_outputs

Lookup = Callable[[str], Any]


def outputs_from_settings(variable: Lookup, connection: Lookup) -> StackOutputs:
    """`variable(key)` -> str | None and `connection(conn_id)` -> an Airflow Connection | None."""
    raw = variable(naming.AIRFLOW_STACK_OUTPUTS_VARIABLE)
    if not raw:
        raise OutputsError(
            f"Airflow Variable {naming.AIRFLOW_STACK_OUTPUTS_VARIABLE!r} is missing: the stack creates it "
            "(`make up STACK=<stack>`)"
        )
    try:
        outputs: dict[str, Any] = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise OutputsError(
            f"Airflow Variable {naming.AIRFLOW_STACK_OUTPUTS_VARIABLE!r}: not JSON ({exc.msg})"
        ) from None
    mongo = connection(naming.AIRFLOW_MONGO_CONNECTION)
    if mongo is None:
        raise OutputsError(f"Airflow connection {naming.AIRFLOW_MONGO_CONNECTION!r} is missing: the stack creates it")
    outputs["mongodb_uri"] = mongo_uri(mongo)
    aws = connection(naming.AIRFLOW_AWS_CONNECTION)
    outputs["aws_credentials"] = (
        {"access_key_id": aws.login, "secret_access_key": aws.password} if aws is not None and aws.login else None
    )
    return validate_outputs(outputs, "Airflow settings")


def mongo_uri(conn: Any) -> str:
    """The connection's URI as MongoDB drivers take it (`extra.uri` when the stack stored a seed list)."""
    extra = conn.extra_dejson or {}
    if extra.get("uri"):
        return str(extra["uri"])
    from pipelines.batch.airflow_settings import ConnectionFields
    from pipelines.batch.airflow_settings import mongo_uri as build_uri

    fields = ConnectionFields(
        conn_type=conn.conn_type,
        host=conn.host,
        port=conn.port,
        login=conn.login,
        password=conn.password,
        schema=conn.schema,
        extra=extra,
    )
    return build_uri(fields)


def outputs_in_task() -> StackOutputs:
    """Inside a running task: through the Task SDK (Airflow's secrets backends, then its metadata DB)."""
    from airflow.sdk import Connection, Variable
    from airflow.sdk.exceptions import AirflowNotFoundException

    def connection(conn_id: str) -> Any:
        try:
            return Connection.get(conn_id)
        except AirflowNotFoundException:
            return None

    return outputs_from_settings(lambda key: Variable.get(key, default=None), connection)
