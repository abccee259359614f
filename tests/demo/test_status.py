"""`python -m demo.status` (`make status`) against devstack's real servers with the devstack stack up: every
section of `--json` holds what the servers themselves say (a topic of the test's own with known offsets, the
stack's topics' partitions as the broker's AdminClient has them, the S3 sink's lag and the dead-letter depth from
a consumer's own reads, the connector and its tasks as Connect's REST API has them, the registry's subjects, a
DAG run the test made); with Connect stopped its section is one line and the command still exits 0. The pure
parts (lag arithmetic, endpoint parsing) are checked without servers."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from demo.status.section import host_port
from demo.status.topics import topic_row
from devstack.config import DevstackConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
#: what the `devstack` stack needs; the status screen reads all of them
SERVICES = ("s3", "dynamodb", "kafka", "registry", "connect", "airflow")


def status(*args: str) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "demo.status", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def status_json(*args: str) -> dict[str, Any]:
    code, out = status("--json", *args)
    assert code == 0, out[-3000:]
    report: dict[str, Any] = json.loads(out)
    return report


# --- without servers -------------------------------------------------------------------------------------


def test_sink_lag_counts_uncommitted_partitions_from_their_start() -> None:
    starts = {("t", 0): 0, ("t", 1): 10, ("t", 2): 0}
    ends = {("t", 0): 100, ("t", 1): 25, ("t", 2): 7}
    # partition 0 committed 60 -> 40 behind; 1 never committed -> all it retains (15); 2 fully committed
    row = topic_row("t", [0, 1, 2], starts, ends, {("t", 0): 60, ("t", 2): 7}, of_stack=True)
    assert row["sink_lag"] == 55
    assert row["records"] == 122
    assert row["end_offsets"] == {"0": 100, "1": 25, "2": 7}
    assert row["sink_committed"] == {"0": 60, "1": None, "2": 7}
    not_sunk = topic_row("t", [0, 1, 2], starts, ends, None, of_stack=False)
    assert not_sunk["sink_lag"] is None and not_sunk["sink_committed"] is None


def test_endpoints_of_every_shape_name_host_and_port() -> None:
    assert host_port("127.0.0.1:15040,127.0.0.1:15041") == ("127.0.0.1", 15040)
    assert host_port("http://127.0.0.1:15050/apis/ccompat/v7") == ("127.0.0.1", 15050)
    assert host_port("https://connect.example.internal/") == ("connect.example.internal", 443)


# --- against devstack ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outputs(platform: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return platform(*SERVICES)


@pytest.fixture
def own_topic(outputs: dict[str, Any]) -> Iterator[tuple[str, dict[str, int]]]:
    """A topic of this test's own, 3 partitions, with 5 records on partition 1 and 2 on partition 2."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    from contract.clients import kafka_config

    name = f"status-test-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(kafka_config(outputs))
    admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])[name].result(30)
    producer = Producer(kafka_config(outputs, acks="all"))
    for partition, count in ((1, 5), (2, 2)):
        for i in range(count):
            producer.produce(name, value=f"{partition}-{i}".encode(), partition=partition)
    assert producer.flush(30) == 0
    try:
        yield name, {"0": 0, "1": 5, "2": 2}
    finally:
        admin.delete_topics([name])[name].result(30)


@pytest.fixture
def queued_dag_run(outputs: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """A run of the stack's `load_sources` DAG, triggered through the API: the DAG is paused (devstack's Airflow
    pauses new DAGs), so the run stays queued and does nothing; deleted afterwards."""
    from devstack.services.airflow import Airflow

    creds = Airflow(DevstackConfig.from_env()).api_credentials()
    token = requests.post(
        f"{creds['url']}/auth/token", json={"username": creds["username"], "password": creds["password"]}, timeout=30
    ).json()["access_token"]
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    dag = "load_sources"
    _wait_for(lambda: api.get(f"{creds['url']}/api/v2/dags/{dag}", timeout=30).status_code == 200, f"DAG {dag}")
    paused = api.get(f"{creds['url']}/api/v2/dags/{dag}", timeout=30).json()["is_paused"]
    assert paused, f"{dag} is not paused: a triggered run would load data"
    run_id = f"status-test-{uuid.uuid4().hex[:8]}"
    created = api.post(
        f"{creds['url']}/api/v2/dags/{dag}/dagRuns", json={"dag_run_id": run_id, "logical_date": None}, timeout=30
    )
    assert created.status_code in (200, 201), created.text
    try:
        yield dag, run_id
    finally:
        api.delete(f"{creds['url']}/api/v2/dags/{dag}/dagRuns/{run_id}", timeout=30)


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 120) -> None:
    from devstack.process import wait_until

    assert wait_until(check, timeout, interval=2), f"{what}: not there after {timeout:.0f}s"


def _group_lag(outputs: dict[str, Any], group: str, topics: list[str]) -> int:
    """The sink's lag as a consumer of its group reads it: committed offsets against the watermarks."""
    from confluent_kafka import Consumer, TopicPartition

    from contract.clients import kafka_config

    consumer = Consumer(kafka_config(outputs, **{"group.id": group, "enable.auto.commit": False}))
    try:
        lag = 0
        for topic in topics:
            partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
            for tp in committed:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
                lag += high - (tp.offset if tp.offset >= 0 else low)
        return lag
    finally:
        consumer.close()


@pytest.mark.devstack
def test_json_has_every_section_with_what_the_servers_say(
    outputs: dict[str, Any], own_topic: tuple[str, dict[str, int]], queued_dag_run: tuple[str, str]
) -> None:
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient

    from components.connect.client import ConnectClient
    from contract.clients import kafka_config
    from contract.s3_sink import DEAD_LETTER_TOPIC
    from devstack import services as registry

    connector = outputs["s3_sink"]["connector"]
    group, sink_topics = f"connect-{connector}", outputs["s3_sink"]["topics"]
    lag_before = _group_lag(outputs, group, sink_topics)
    report = status_json()
    lag_after = _group_lag(outputs, group, sink_topics)

    assert report["outputs"] == {"origin": "stack devstack", "note": None}
    for name in ("services", "kafka", "connect", "registry", "airflow"):
        assert report[name]["error"] is None, report[name]["error"]

    # services: the PID files' processes, their ports, at least the leader's own memory
    cfg = DevstackConfig.from_env()
    rows = {row["name"]: row for row in report["services"]["services"]}
    assert set(rows) == set(registry.processes())  # each process once: no row for a group name (moto)
    for name in SERVICES:
        service = registry.make(name, cfg)
        row = rows[name]
        assert row["running"] and row["pid"] == service.pid(), row
        assert row["ports"] == {key: cfg.port(key) for key in service.port_names}
        leader = psutil.Process(row["pid"])
        tree = sum(p.memory_info().rss for p in [leader, *leader.children(recursive=True)])
        assert 0.5 * tree <= row["rss_bytes"] <= 2 * tree, (row, tree)  # read a moment apart: memory moves
        assert row["processes"] >= 1
    assert rows["kafka"]["data_bytes"] > 0  # the KRaft log holds the stack's topics

    # Kafka: the test's own topic exactly; the stack's topics as the broker's AdminClient has them
    topics = {t["name"]: t for t in report["kafka"]["topics"]}
    name, ends = own_topic
    assert topics[name]["partitions"] == 3 and topics[name]["end_offsets"] == ends and topics[name]["records"] == 7
    assert not topics[name]["stack"] and topics[name]["sink_lag"] is None
    metadata = AdminClient(kafka_config(outputs)).list_topics(timeout=10)
    for topic in [*outputs["kafka_topics"].values(), DEAD_LETTER_TOPIC]:
        assert topics[topic]["stack"]
        assert topics[topic]["partitions"] == len(metadata.topics[topic].partitions), topic
    assert report["kafka"]["sink"]["group"] == group
    assert report["kafka"]["sink"]["lag"] in {lag_before, lag_after}
    consumer = Consumer(kafka_config(outputs, **{"group.id": f"status-test-{uuid.uuid4().hex}"}))
    low, high = consumer.get_watermark_offsets(TopicPartition(DEAD_LETTER_TOPIC, 0), timeout=10)
    consumer.close()
    assert report["kafka"]["dead_letter"] == {"topic": DEAD_LETTER_TOPIC, "exists": True, "depth": high - low}

    # Connect: the stack's connector RUNNING with the tasks the worker reports
    live = ConnectClient.from_outputs(outputs).status(connector)
    shown = {c["name"]: c for c in report["connect"]["connectors"]}[connector]
    assert shown["stack"] and shown["state"] == "RUNNING" and shown["trace"] is None
    assert [(t["id"], t["state"]) for t in shown["tasks"]] == [(t["id"], t["state"]) for t in live["tasks"]]
    assert shown["tasks"] and {t["state"] for t in shown["tasks"]} == {"RUNNING"}

    # registry: every subject the registry lists, with its newest version; the stack's topics' value subjects
    base = outputs["schema_registry_url"]
    subjects = {s["subject"]: s for s in report["registry"]["subjects"]}
    assert set(subjects) == set(requests.get(f"{base}/subjects", timeout=10).json())
    for topic in outputs["kafka_topics"].values():
        subject = subjects[f"{topic}-value"]
        assert subject["version"] == max(requests.get(f"{base}/subjects/{topic}-value/versions", timeout=10).json())
        assert subject["compatibility"] in {"BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FULL", "NONE"}

    # Airflow: the run the test triggered, queued
    dag, run_id = queued_dag_run
    runs = {r["run_id"]: r for r in report["airflow"]["runs"]}
    assert run_id in runs, list(runs)
    assert runs[run_id]["dag_id"] == dag and runs[run_id]["state"] == "queued"


@pytest.fixture
def failed_connector(outputs: dict[str, Any], own_topic: tuple[str, dict[str, int]]) -> Iterator[tuple[str, str]]:
    """A second sink of the stack's plugin on the test's own topic, whose converter cannot read the records there
    (plain JSON expected, plain text found) and tolerates no error: its task FAILS for real. Deleted afterwards."""
    from components.connect.client import ConnectClient

    client = ConnectClient.from_outputs(outputs)
    live = client.get(outputs["s3_sink"]["connector"])
    assert live is not None
    name = f"status-test-{uuid.uuid4().hex[:8]}"
    dropped = ("name", "errors.deadletterqueue.topic.name", "errors.deadletterqueue.topic.replication.factor",
               "errors.deadletterqueue.context.headers.enable")  # fmt: skip
    config = {k: v for k, v in live["config"].items() if k not in dropped}
    config.update({"topics": own_topic[0], "errors.tolerance": "none",
                   "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                   "value.converter.schemas.enable": "false"})  # fmt: skip
    client.create(name, config)
    try:
        _wait_for(lambda: any(t["state"] == "FAILED" for t in client.status(name)["tasks"]), f"task of {name} FAILED")
        trace = next(t["trace"] for t in client.status(name)["tasks"] if t["state"] == "FAILED")
        yield name, trace
    finally:
        client.delete(name)


@pytest.mark.devstack
def test_a_failed_task_shows_with_the_first_line_of_its_trace(
    outputs: dict[str, Any], failed_connector: tuple[str, str]
) -> None:
    name, trace = failed_connector
    report = status_json()
    shown = {c["name"]: c for c in report["connect"]["connectors"]}
    assert shown[outputs["s3_sink"]["connector"]]["state"] == "RUNNING"  # the stack's sink is not the failed one
    task = shown[name]["tasks"][0]
    assert not shown[name]["stack"] and task["state"] == "FAILED"
    assert task["trace"] == trace.strip().splitlines()[0].strip() and "Exception" in task["trace"]
    code, screen = status()
    assert code == 0 and "FAILED" in screen and task["trace"][:40] in screen, screen[-3000:]


@pytest.mark.devstack
def test_a_stopped_connect_is_one_line_and_the_rest_still_shows(
    outputs: dict[str, Any], devstack: Callable[..., dict[str, Any]]
) -> None:
    from components.connect.client import ConnectClient
    from devstack import services as registry

    connect = registry.make("connect", DevstackConfig.from_env())
    assert connect.stop()
    try:
        report = status_json()
        expected = f"connect: not reachable at {outputs['kafka_connect_url']}"
        assert report["connect"] == {"error": expected}
        rows = {row["name"]: row for row in report["services"]["services"]}
        assert not rows["connect"]["running"] and rows["connect"]["pid"] is None
        assert report["kafka"]["error"] is None and report["registry"]["error"] is None
        code, screen = status()
        assert code == 0, screen[-3000:]
        assert expected in screen and "Traceback" not in screen
        assert outputs["s3_sink"]["connector"] not in screen.split("Kafka Connect")[1].split("schema registry")[0]
    finally:
        devstack("connect")
        ConnectClient.from_outputs(outputs).wait_running(outputs["s3_sink"]["connector"], timeout_s=180)


@pytest.mark.devstack
def test_a_hung_registry_is_one_line_after_its_timeout(outputs: dict[str, Any]) -> None:
    """The registry stopped (SIGSTOP) still accepts connections but answers nothing: its section gives up after
    the timeout with one line; the sections of the servers that answer are read as usual."""
    from demo.status.section import TIMEOUT_S
    from devstack import services as registry

    service = registry.make("registry", DevstackConfig.from_env())
    service.pause(True)
    try:
        report = status_json()
    finally:
        service.pause(False)
    url = outputs["schema_registry_url"]
    assert report["registry"] == {"error": f"registry: no answer within {TIMEOUT_S:.0f}s at {url}"}
    assert report["kafka"]["error"] is None and report["connect"]["error"] is None


@pytest.mark.devstack
def test_every_server_unreachable_is_one_line_each(outputs: dict[str, Any], tmp_path: Path) -> None:
    """An outputs file whose every endpoint is a closed port: each section says so in one line, exit 0."""
    closed = _closed_port()
    dead = {
        **outputs,
        "kafka_bootstrap_servers": f"127.0.0.1:{closed}",
        "kafka_connect_url": f"http://127.0.0.1:{closed}",
        "schema_registry_url": f"http://127.0.0.1:{closed}/apis/ccompat/v7",
        "airflow_url": f"http://127.0.0.1:{closed}",
    }
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(dead))
    report = status_json("--outputs", str(path))
    assert report["kafka"] == {"error": f"kafka: not reachable at 127.0.0.1:{closed}"}
    assert report["connect"] == {"error": f"connect: not reachable at http://127.0.0.1:{closed}"}
    assert report["registry"] == {"error": f"registry: not reachable at http://127.0.0.1:{closed}/apis/ccompat/v7"}
    assert report["airflow"] == {"error": f"airflow: not reachable at http://127.0.0.1:{closed}"}
    assert report["services"]["error"] is None  # devstack's own processes are read from its PID files


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
