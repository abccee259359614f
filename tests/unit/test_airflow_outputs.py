"""The stack outputs as the DAGs rebuild them from the Airflow settings the stack creates, and which
(target, dataset) pairs the load_sources DAG loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.airflow.uri import connection_fields_from_uri
from contract import naming
from pipelines.airflow_outputs import AirflowSettingsError, ConnectionFields, outputs_from_settings
from tests.unit._stack_runs import stack_run

OUTPUTS = stack_run("devstack").raw_outputs


#: the Variable as the `devstack` stack declares it (not rebuilt here with the code under test)
(_VARIABLE,) = [r for r in stack_run("devstack").resources if r.inputs.get("key") == "stack_outputs"]
#: the outputs that are secret, which the Variable must not hold (the connections carry them)
SECRET_KEYS = {"mongodb_uri", "aws_credentials", "kafka_connect_auth"}


def settings(outputs: dict[str, Any], drop: tuple[str, ...] = ()) -> tuple[Any, Any]:
    """What the stack's AirflowSettings hold for `outputs`, as the lookups the DAGs use."""
    variables = {naming.AIRFLOW_STACK_OUTPUTS_VARIABLE: _VARIABLE.inputs["value"]}
    mongo = connection_fields_from_uri(outputs["mongodb_uri"])
    creds = outputs["aws_credentials"]
    connections = {
        naming.AIRFLOW_MONGO_CONNECTION: ConnectionFields(**{**mongo, "extra": mongo.get("extra") or {}}),
        naming.AIRFLOW_AWS_CONNECTION: ConnectionFields(
            "aws", login=creds["access_key_id"], password=creds["secret_access_key"]
        ),
    }
    return (
        lambda key: None if key in drop else variables.get(key),
        lambda conn_id: None if conn_id in drop else connections.get(conn_id),
    )


def test_the_dags_see_the_stack_outputs_secrets_included() -> None:
    # all but the Connect REST API's login: no DAG calls Connect, so the stack gives Airflow no such connection
    assert outputs_from_settings(*settings(OUTPUTS)) == {**OUTPUTS, "kafka_connect_auth": None}
    # ... and the secrets come from the connections only: the Variable has every other output, and none of them
    variable = json.loads(_VARIABLE.inputs["value"])
    assert set(variable) == set(OUTPUTS) - SECRET_KEYS
    assert set(stack_run("devstack").secret_outputs) >= SECRET_KEYS


def test_without_aws_keys_the_workers_own_credential_chain_is_used() -> None:
    rebuilt = outputs_from_settings(*settings(OUTPUTS, drop=(naming.AIRFLOW_AWS_CONNECTION,)))
    assert rebuilt["aws_credentials"] is None


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        (naming.AIRFLOW_STACK_OUTPUTS_VARIABLE, "Variable 'stack_outputs' is missing: the stack creates it"),
        (naming.AIRFLOW_MONGO_CONNECTION, "connection 'mongo_default' is missing: the stack creates it"),
    ],
)
def test_a_missing_setting_is_named(drop: str, message: str) -> None:
    with pytest.raises(AirflowSettingsError, match=message):
        outputs_from_settings(*settings(OUTPUTS, drop=(drop,)))


def test_a_broken_variable_is_named() -> None:
    _variable, connection = settings(OUTPUTS)
    with pytest.raises(AirflowSettingsError, match="'stack_outputs': not JSON"):
        outputs_from_settings(lambda key: "{", connection)


def test_load_sources_skips_what_has_no_file_no_place_or_is_streamed(tmp_path: Path) -> None:
    from contract.outputs import validate_outputs
    from pipelines.dags.load_sources import skip_reason

    outputs = validate_outputs(OUTPUTS, "the devstack stack's")
    for dataset in ("cards", "users", "mcc_codes"):
        (tmp_path / f"{dataset}.jsonl").write_text("{}\n")
    assert skip_reason(outputs, "mongodb", "cards", tmp_path) is None
    assert skip_reason(outputs, "kafka", "users", tmp_path) is None
    assert "no transactions.jsonl" in str(skip_reason(outputs, "mongodb", "transactions", tmp_path))
    assert "no dynamodb place for mcc_codes" in str(skip_reason(outputs, "dynamodb", "mcc_codes", tmp_path))
    assert "streamed to the lake by the producer" in str(skip_reason(outputs, "kafka", "cards", tmp_path))
