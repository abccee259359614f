"""The `devstack` stack on the real Pulumi engine, through the same runner as `make up`, against a devstack of its
own (a fresh home and another port block, the built services shared): create, no-op re-up, secrets encrypted in
the state file, drift (a connector and an Airflow connection deleted behind the stack's back come back), destroy
leaving no topic, subject, connector, connection or variable, and up again after the destroy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pulumi import automation as auto

from contract import naming
from contract.backend import state_file
from contract.outputs import PROJECT
from contract.s3_sink import DEAD_LETTER_TOPIC
from demo.airflow import DevstackAirflow
from devstack.config import DevstackConfig
from devstack.outputs import build_outputs
from stacks.engine import changes, outputs_of

pytestmark = pytest.mark.devstack

#: the outputs that hold credentials (contract/outputs.py documents each as SECRET)
SECRET_OUTPUTS = ("aws_credentials", "mongodb_uri", "kafka_connect_auth")


@pytest.fixture
def stack(devstack_stack: Callable[[Path], auto.Stack], tmp_path: Path) -> Iterator[auto.Stack]:
    selected = devstack_stack(tmp_path / "state")
    yield selected
    selected.destroy(color="never")


def live_topics(outputs: dict[str, Any]) -> set[str]:
    from confluent_kafka.admin import AdminClient

    return set(AdminClient({"bootstrap.servers": outputs["kafka_bootstrap_servers"]}).list_topics(timeout=10).topics)


def live_subjects(outputs: dict[str, Any]) -> set[str]:
    return set(requests.get(outputs["schema_registry_url"] + "/subjects", timeout=10).json())


def connect_auth(outputs: dict[str, Any]) -> tuple[str, str]:
    """The Connect REST API's basic-auth login (the stack outputs carry devstack's)."""
    return outputs["kafka_connect_auth"]["username"], outputs["kafka_connect_auth"]["password"]


def connector_state(outputs: dict[str, Any], name: str) -> str | None:
    url = f"{outputs['kafka_connect_url']}/connectors/{name}/status"
    resp = requests.get(url, auth=connect_auth(outputs), timeout=10)
    if resp.status_code == 404:
        return None
    status = resp.json()
    tasks = [t["state"] for t in status.get("tasks", [])]
    return status["connector"]["state"] if tasks and all(t == "RUNNING" for t in tasks) else json.dumps(status)


def airflow_objects(airflow: DevstackAirflow) -> tuple[set[str], set[str]]:
    connections = {c["connection_id"] for c in airflow.get("/connections", limit=100)["connections"]}
    variables = {v["key"] for v in airflow.get("/variables", limit=100)["variables"]}
    return connections, variables


def stored_variable(airflow: DevstackAirflow, key: str) -> str:
    """A Variable's value as Airflow keeps it and hands it to the DAGs. Not through the REST API: that masks the
    values of sensitive-looking keys (password, secret_access_key) in what it returns, and hid a login put there."""
    command = [sys.executable, "-m", "airflow", "variables", "get", key]
    env = {**os.environ, **airflow.service.cli_env()}
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=True)
    return run.stdout.strip().splitlines()[-1]


def secrets_shown(
    stack: auto.Stack, outputs: dict[str, Any], airflow: DevstackAirflow, state: str, logs: str
) -> list[str]:
    """Where a secret shows in plain text: the state file, the engine's output, the `stack_outputs` Variable the
    DAGs read; and each secret output the stack does not mark secret. Every finding at once, so a failure names
    all the places."""
    secrets = {
        "the S3 secret key": outputs["aws_credentials"]["secret_access_key"],
        "the Airflow password": airflow.credentials["password"],
        "the Connect password": outputs["kafka_connect_auth"]["password"],
        "the MongoDB URI": outputs["mongodb_uri"],
    }
    variable = stored_variable(airflow, naming.AIRFLOW_STACK_OUTPUTS_VARIABLE)
    # the Variable holds the public outputs: a check of an empty or foreign Variable would pass on anything
    assert json.loads(variable)["kafka_bootstrap_servers"] == outputs["kafka_bootstrap_servers"]
    places = {"the state file": state, "the engine's output": logs, "the stack_outputs Variable": variable}
    shown = [
        f"{name} in {place}" for name, secret in secrets.items() for place, text in places.items() if secret in text
    ]
    declared = stack.outputs()
    shown += [f"output {key} not secret" for key in SECRET_OUTPUTS if not declared[key].secret]
    return shown


def test_devstack_stack_lifecycle_on_the_real_engine(
    substrate: DevstackConfig, stack: auto.Stack, tmp_path: Path
) -> None:
    airflow = DevstackAirflow(substrate)
    datasets = ("cards", "users", "transactions", "mcc_codes", "fraud_labels")
    subjects = {naming.schema_subject(naming.kafka_topic(d)) for d in datasets}
    topics = {naming.kafka_topic(d) for d in datasets} | {DEAD_LETTER_TOPIC}  # the S3 sink's has no subject
    connections = {naming.AIRFLOW_MONGO_CONNECTION, naming.AIRFLOW_AWS_CONNECTION}

    # up: every platform object, on the substrate devstack published
    up = stack.up(color="never")
    created = changes(up.summary.resource_changes)
    assert set(created) == {"create"}, up.stdout
    outputs = outputs_of(stack)
    assert outputs["kafka_bootstrap_servers"] == build_outputs(substrate)["kafka_bootstrap_servers"]
    assert topics <= live_topics(outputs)
    assert subjects <= live_subjects(outputs)
    connector = outputs["s3_sink"]["connector"]
    assert connector_state(outputs, connector) == "RUNNING"
    live_connections, live_variables = airflow_objects(airflow)
    assert connections <= live_connections
    assert naming.AIRFLOW_STACK_OUTPUTS_VARIABLE in live_variables

    # a second up is a no-op, and so is a preview
    again = stack.up(color="never")
    assert set(changes(again.summary.resource_changes)) == {"same"}, again.stdout
    preview = stack.preview(color="never")
    assert set(changes(preview.change_summary)) == {"same"}

    # secrets stay secret: the S3 key, the Airflow and Connect logins, the MongoDB URI
    state = state_file("devstack", PROJECT, tmp_path / "state").read_text()
    assert '"ciphertext"' in state
    logs = "".join(run.stdout + run.stderr for run in (up, again, preview))
    shown = secrets_shown(stack, outputs, airflow, state, logs)
    assert not shown, "; ".join(shown)

    # a connector and an Airflow connection deleted behind the stack's back: drift on refresh, back on up
    url = f"{outputs['kafka_connect_url']}/connectors/{connector}"
    assert requests.delete(url, auth=connect_auth(outputs), timeout=10).status_code == 204
    airflow.call("DELETE", f"/connections/{naming.AIRFLOW_MONGO_CONNECTION}")
    refresh = stack.refresh(color="never")
    assert changes(refresh.summary.resource_changes).get("delete") == 2, refresh.stdout
    back = stack.up(color="never")
    assert changes(back.summary.resource_changes).get("create") == 2, back.stdout
    assert connector_state(outputs, connector) == "RUNNING"
    assert naming.AIRFLOW_MONGO_CONNECTION in airflow_objects(airflow)[0]

    # destroy leaves no topic, subject, connector, connection or variable behind
    stack.destroy(color="never")
    assert not topics & live_topics(outputs)
    assert not subjects & live_subjects(outputs)
    assert connector_state(outputs, connector) is None
    live_connections, live_variables = airflow_objects(airflow)
    assert not connections & live_connections
    assert naming.AIRFLOW_STACK_OUTPUTS_VARIABLE not in live_variables

    # and up again after a destroy brings it all back
    stack.up(color="never")
    assert topics <= live_topics(outputs)
    assert connector_state(outputs, connector) == "RUNNING"
