"""The platform objects on the real engine against devstack's real Kafka, schema registry and Connect worker:
topics, subjects and the S3 sink connector through up, no-op up, in-place update, replacement, drift on
refresh, encrypted secrets in the state file and destroy. Names are unique per run, so devstack's own
topics and other tests are untouched."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from pulumi import automation as auto
from stacks.platform import platform_program, state_file

from contract import naming

pytestmark = pytest.mark.devstack


def live_topics(outputs: dict[str, Any]) -> set[str]:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": outputs["kafka_bootstrap_servers"]})
    return set(admin.list_topics(timeout=10).topics)


def live_subjects(outputs: dict[str, Any]) -> set[str]:
    return set(requests.get(outputs["schema_registry_url"] + "/subjects", timeout=10).json())


def connector(outputs: dict[str, Any], name: str) -> dict[str, Any] | None:
    resp = requests.get(f"{outputs['kafka_connect_url']}/connectors/{name}", timeout=10)
    return None if resp.status_code == 404 else resp.json()


def connector_state(outputs: dict[str, Any], name: str) -> str | None:
    resp = requests.get(f"{outputs['kafka_connect_url']}/connectors/{name}/status", timeout=10)
    if resp.status_code == 404:
        return None
    status = resp.json()
    tasks = [t["state"] for t in status.get("tasks", [])]
    return status["connector"]["state"] if tasks and all(t == "RUNNING" for t in tasks) else f"{status} {tasks}"


def ensure_bucket(outputs: dict[str, Any], bucket: str) -> None:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=outputs["endpoints"]["s3"],
        region_name=outputs["aws_region"],
        aws_access_key_id=outputs["aws_credentials"]["access_key_id"],
        aws_secret_access_key=outputs["aws_credentials"]["secret_access_key"],
    )
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)


def changes(result: auto.UpResult | auto.RefreshResult) -> dict[str, int]:
    """The run's resource changes as {"create": 1, ...}."""
    return {str(getattr(op, "value", op)): count for op, count in (result.summary.resource_changes or {}).items()}


def unique_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    """The devstack outputs with this run's own topic, subject and connector names."""
    run = uuid.uuid4().hex[:8]
    out = copy.deepcopy(outputs)
    topic = f"engine-{run}-{naming.kafka_topic('cards')}"
    out["kafka_topics"] = {"cards": topic}
    out["s3_sink"] = {**out["s3_sink"], "connector": f"engine-{run}-sink", "topics": [topic]}
    out["s3_sink"]["prefix"] = f"engine/{run}"
    return out


def test_platform_lifecycle_on_the_real_engine(
    devstack: Callable[..., dict[str, Any]], engine_stack: Callable[..., auto.Stack], tmp_path: Path
) -> None:
    outputs = unique_outputs(devstack("kafka", "registry", "connect"))
    ensure_bucket(outputs, outputs["s3_sink"]["bucket"])
    topic = outputs["kafka_topics"]["cards"]
    subject = naming.schema_subject(topic)
    knobs: dict[str, Any] = {"outputs": outputs, "overrides": {}}

    def program() -> None:
        platform_program(knobs["outputs"], sink_overrides=knobs["overrides"], running_timeout_s=90)()

    stack = engine_stack(program, stack="platform", project="kde-platform-test")
    name = outputs["s3_sink"]["connector"]
    try:
        # up: topic, subject and a RUNNING connector
        up = stack.up()
        assert up.summary.resource_changes == {"create": 4}, up.stdout
        assert topic in live_topics(outputs)
        assert subject in live_subjects(outputs)
        assert connector_state(outputs, name) == "RUNNING"
        assert up.outputs["s3_sink_state"].value == "RUNNING"

        # a second up is a no-op
        again = stack.up()
        assert again.summary.resource_changes == {"same": 4}, again.stdout

        # secrets (the S3 secret key in the connector's secret_config) are encrypted in the state file
        state = state_file("platform", tmp_path / ".state", "kde-platform-test").read_text()
        assert outputs["aws_credentials"]["secret_access_key"] not in state
        assert '"ciphertext"' in state

        # a config change updates the connector in place
        knobs["overrides"] = {"flush.size": "7"}
        update = stack.up()
        assert update.summary.resource_changes == {"update": 1, "same": 3}, update.stdout
        live = connector(outputs, name)
        assert live is not None and live["config"]["flush.size"] == "7"
        assert connector_state(outputs, name) == "RUNNING"

        # a new connector name needs a replacement: the old one is gone, the new one runs
        renamed = name + "-v2"
        knobs["outputs"] = {**outputs, "s3_sink": {**outputs["s3_sink"], "connector": renamed}}
        replace = stack.up()
        assert changes(replace).get("replace") == 1, replace.stdout
        assert connector(outputs, name) is None
        assert connector_state(outputs, renamed) == "RUNNING"
        name = renamed

        # a connector deleted behind Pulumi's back is drift on refresh and comes back on up
        assert requests.delete(f"{outputs['kafka_connect_url']}/connectors/{name}", timeout=10).status_code == 204
        refresh = stack.refresh()
        assert changes(refresh).get("delete") == 1, refresh.stdout
        assert stack.preview().change_summary == {"create": 1, "same": 3}
        back = stack.up()
        assert back.summary.resource_changes == {"create": 1, "same": 3}, back.stdout
        assert connector_state(outputs, name) == "RUNNING"
    finally:
        # destroy leaves no connector, subject or topic behind
        stack.destroy()
    assert connector(outputs, name) is None
    assert subject not in live_subjects(outputs)
    assert topic not in live_topics(outputs)
