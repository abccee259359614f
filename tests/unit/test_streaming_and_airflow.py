from __future__ import annotations

import json

import pytest

from schemas import load as load_schema
from tests.unit._stack_runs import env_of, stack_run

STACKS = ("dev", "local")
CONTAINER = "docker:index/container:Container"


@pytest.mark.parametrize("stack", STACKS)
def test_containers_publish_on_loopback_only_without_port_clashes(stack: str) -> None:
    published = [p for c in stack_run(stack).of_type(CONTAINER) for p in c.inputs.get("ports") or []]
    assert published
    assert {p["ip"] for p in published} == {"127.0.0.1"}
    host_ports = [p["external"] for p in published]
    assert len(host_ports) == len(set(host_ports))


@pytest.mark.parametrize("stack", STACKS)
def test_every_container_has_a_health_check_and_waits_for_it(stack: str) -> None:
    for container in stack_run(stack).of_type(CONTAINER):
        assert container.inputs["healthcheck"]["tests"][0] == "CMD-SHELL", container.name
        assert container.inputs["wait"] is True, container.name


def test_console_and_airflow_do_not_clash_like_the_seed() -> None:
    run = stack_run("dev")
    console = run.named("kde-dev-console").inputs["ports"][0]["external"]
    airflow = run.named("kde-dev-airflow").inputs["ports"][0]["external"]
    assert (console, airflow) == (8085, 8080)


def test_broker_runs_kraft_with_two_advertised_listeners_and_no_auto_create() -> None:
    # written out, not computed by components.streaming.kafka_env: the container's whole environment, as declared
    assert env_of(stack_run("dev"), "kde-dev-kafka") == {
        "CLUSTER_ID": "a2RlLWRldnN0YWNrLWtmaw",
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@kafka:9093",
        "KAFKA_LISTENERS": "INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093",
        "KAFKA_ADVERTISED_LISTENERS": "INTERNAL://kafka:29092,EXTERNAL://127.0.0.1:9092",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "INTERNAL",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    }


@pytest.mark.parametrize("stack", STACKS)
def test_connect_is_built_from_containers_connect_and_its_env_is_secret(stack: str) -> None:
    run = stack_run(stack)
    image = run.named(f"kde-{stack}-connect-image").inputs
    assert image["build"]["context"].endswith("containers/connect")
    assert env_of(run, f"kde-{stack}-connect") == "[secret]"  # it carries the AWS secret key


def test_airflow_is_built_from_containers_airflow_and_mounts_the_dags() -> None:
    run = stack_run("dev")
    image = run.named("kde-dev-airflow-image").inputs
    assert image["build"]["dockerfile"].endswith("containers/airflow/Dockerfile")
    volume = run.named("kde-dev-airflow").inputs["volumes"][0]
    assert volume["hostPath"].endswith("pipelines/dags")
    assert (volume["containerPath"], volume["readOnly"]) == ("/opt/airflow/dags", True)
    assert env_of(run, "kde-dev-airflow") == "[secret]"  # the Mongo connection URI


def test_topics_and_subjects_follow_the_schemas() -> None:
    run = stack_run("dev")
    topics = {t.inputs["topic"] for t in run.of_type("pulumi-python:dynamic/kafka:Topic")}
    assert "cards-data" in topics
    subject = run.named("subject-cards-data-value").inputs
    assert subject["subject"] == "cards-data-value"
    assert subject["schema_type"] == "JSON"
    assert json.loads(subject["schema"]) == load_schema("cards").json_schema()
    assert run.named("topic-cards-data").inputs["bootstrap_servers"] == "127.0.0.1:9092"


@pytest.mark.parametrize("stack", STACKS)
def test_s3_sink_connector_is_declared_with_its_secret_config_hidden(stack: str) -> None:
    connector = stack_run(stack).named("s3-sink-kde").inputs
    assert connector["name"] == "s3-sink-kde"
    assert connector["config"]["topics"] == "cards-data"
    assert connector["config"]["s3.bucket.name"] == f"kde-{stack}-landing"
    assert connector["secret_config"] == "[secret]"
    assert "__provider" not in connector
