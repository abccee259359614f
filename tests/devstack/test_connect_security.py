"""Kafka Connect's secrets on devstack's real worker: the REST API refuses anonymous calls and takes the login
devstack publishes; after the stack's `up`, the S3 sink's config and task configs (REST API) and the config
topic's records hold `${env:...}` references, never the S3 key; the login's files are private (0600)."""

from __future__ import annotations

import stat
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from components.connect.client import ConnectClient
from contract.s3_sink import ENV_SECRET_ACCESS_KEY
from devstack.config import DevstackConfig
from devstack.services.connect import KafkaConnect

pytestmark = pytest.mark.devstack

CONFIG_TOPIC = "_devstack-connect-configs"


def auth_of(outputs: dict[str, Any]) -> tuple[str, str]:
    return outputs["kafka_connect_auth"]["username"], outputs["kafka_connect_auth"]["password"]


def test_the_rest_api_refuses_anonymous_calls_and_takes_the_published_login(devstack: Any) -> None:
    outputs = devstack("connect")
    base = outputs["kafka_connect_url"]
    for method, path in (("GET", "/connectors"), ("GET", "/connector-plugins"), ("DELETE", "/connectors/x")):
        assert requests.request(method, base + path, timeout=10).status_code == 401, (method, path)
    user, password = auth_of(outputs)
    assert requests.get(f"{base}/connectors", auth=(user, password + "x"), timeout=10).status_code == 401
    resp = requests.get(f"{base}/connectors", auth=(user, password), timeout=10)
    assert resp.status_code == 200, resp.text
    assert isinstance(resp.json(), list)


def test_the_login_files_are_private(devstack: Any) -> None:
    devstack("connect")
    service = KafkaConnect(DevstackConfig.from_env())
    for path in (service.users_file, service.jaas_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def config_topic_values(bootstrap: str) -> list[bytes]:
    """Every record of the worker's config topic, from the beginning."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"secrets-test-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(CONFIG_TOPIC, timeout=10).topics[CONFIG_TOPIC].partitions
        _low, high = consumer.get_watermark_offsets(TopicPartition(CONFIG_TOPIC, 0), timeout=10)
        assert list(partitions) == [0] and high > 0
        consumer.assign([TopicPartition(CONFIG_TOPIC, 0, 0)])
        values: list[bytes] = []
        position = 0
        while position < high:
            message = consumer.poll(10)
            assert message is not None, f"config topic: no record at offset {position} of {high}"
            assert message.error() is None, message.error()
            values.append(message.value() or b"")
            position = (message.offset() or 0) + 1
        return values
    finally:
        consumer.close()


def test_the_stacks_s3_sink_shows_references_not_keys(platform: Callable[..., dict[str, Any]]) -> None:
    outputs = platform()
    secret = outputs["aws_credentials"]["secret_access_key"]
    name = outputs["s3_sink"]["connector"]
    client = ConnectClient.from_outputs(outputs)
    client.wait_running(name, timeout_s=60)

    config = client.get(name)
    assert config is not None
    assert config["config"]["aws.secret.access.key"] == ENV_SECRET_ACCESS_KEY
    for path in (f"/connectors/{name}/config", f"/connectors/{name}/tasks", f"/connectors/{name}"):
        resp = client.request("GET", path)
        assert resp.status_code == 200, resp.text
        assert secret not in resp.text, path
        assert "${env:AWS_SECRET_ACCESS_KEY}" in resp.text, path
    tasks = client.request("GET", f"/connectors/{name}/tasks").json()
    assert tasks and all(t["config"]["aws.secret.access.key"] == ENV_SECRET_ACCESS_KEY for t in tasks)

    values = config_topic_values(outputs["kafka_bootstrap_servers"])
    assert any(b"${env:AWS_SECRET_ACCESS_KEY}" in v for v in values), "expected the connector's config records"
    assert not [v for v in values if secret.encode() in v]


def test_a_refresh_that_the_real_worker_refuses_keeps_the_state_and_a_good_login_reads_it_live(devstack: Any) -> None:
    """devstack's home wiped gives the worker a new login: a refresh with the state's old one (the worker's own
    401, not a faked one) keeps the connector as the state has it, for the same `up` to rewrite; with the
    published login the live worker is read, and a connector it does not have is gone from the state."""
    from components.connect.client import ConnectError
    from components.connect.provider import ConnectorProvider

    outputs = devstack("connect")
    user, password = auth_of(outputs)
    name = f"test-refused-{uuid.uuid4().hex[:6]}"
    props = {"name": name, "connect_url": outputs["kafka_connect_url"], "config": {"topics": "t"}}

    stale = {**props, "connect_auth": {"username": user, "password": password + "-before-the-wipe"}}
    assert ConnectorProvider().read(name, stale).outs == stale
    with pytest.raises(ConnectError) as refused:
        ConnectClient(outputs["kafka_connect_url"], auth=(user, password + "x")).get(name)
    assert refused.value.status == 401 and password not in str(refused.value)

    current = {**props, "connect_auth": {"username": user, "password": password}}
    gone = ConnectorProvider().read(name, current)
    assert (gone.id, gone.outs) == (None, {})
