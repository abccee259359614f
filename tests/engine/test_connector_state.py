"""The Kafka Connect connector resource's state and offsets on the real Pulumi engine, against the real Kafka,
Connect worker and S3 of the engine tests' own devstack (conftest's `substrate`; KDE_ENGINE_PORT_OFFSET moves
it): created paused or stopped; paused, stopped or reconfigured behind the stack's back, which a refreshing
preview shows and `up` repairs (the next preview is empty); a task that failed for real restarted by `up`, and
a timeout naming it while it cannot start; the sink's offsets listed, rewound and reset."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
import requests
from pulumi import automation as auto

from components.connect import Connector
from components.connect.client import ConnectClient, basic_auth
from components.connect.offsets import SinkOffset, reset, sink_offsets
from contract import naming
from contract.backend import state_file
from contract.clients import s3_client
from contract.lake_layout import WRITTEN_AT
from contract.s3_sink import S3SinkSettings, s3_sink_config
from devstack.config import DevstackConfig
from devstack.outputs import build_outputs
from stacks.engine import changes, select_stack
from stacks.offsets import state_declared_in

pytestmark = pytest.mark.devstack

PASSPHRASE = "engine-test-passphrase"
PROJECT = "connector-test"
# the stack itself is one of the resources counted
CREATED, UPDATED, UNCHANGED = {"create": 2}, {"update": 1, "same": 1}, {"same": 2}


@pytest.fixture(scope="module")
def published(substrate: DevstackConfig) -> dict[str, Any]:
    """What the engine tests' own devstack (conftest's `substrate`) publishes: its Kafka, Connect worker and S3."""
    return build_outputs(substrate)


@dataclass
class Declared:
    """One connector declared by an inline program (`state`, `overrides` change between runs), its stack, its
    own topic and dead-letter topic, and a client to act behind the stack's back."""

    substrate: dict[str, Any]
    stack_dir: Path
    topic: str = field(default_factory=lambda: f"state-test-{uuid.uuid4().hex[:8]}")
    state: str = "RUNNING"
    overrides: dict[str, str] = field(default_factory=lambda: {"tasks.max": "2"})  # a task per partition
    running_timeout_s: int = 60
    _stack: auto.Stack | None = None

    @property
    def name(self) -> str:
        return f"sink-{self.topic}"

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic}-dlq"

    @property
    def client(self) -> ConnectClient:
        return ConnectClient(
            self.substrate["kafka_connect_url"], auth=basic_auth(self.substrate["kafka_connect_auth"]), timeout_s=30
        )

    def config(self) -> dict[str, str]:
        settings = S3SinkSettings(
            topics=(self.topic,),
            bucket=self.substrate["s3_buckets"]["landing"],
            region=self.substrate["aws_region"],
            topics_dir=naming.S3_SINK_PREFIX,
            schema_registry_url=self.substrate["schema_registry_url"],
            flush_size=3,
            endpoint_url=self.substrate["endpoints"]["s3"],
            flavour=self.substrate["s3_sink_flavour"],
            dead_letter_topic=self.dead_letter_topic,
        )
        return {**s3_sink_config(settings).config, **self.overrides}

    def program(self) -> None:
        connector = Connector(
            "sink",
            {
                "name": self.name,
                "connect_url": self.substrate["kafka_connect_url"],
                "connect_auth": self.substrate["kafka_connect_auth"],
                "config": self.config(),
                "state": self.state,
                "running_timeout_s": self.running_timeout_s,
            },
        )
        pulumi.export("state", connector.state)
        pulumi.export("tasks", connector.tasks)

    @property
    def stack(self) -> auto.Stack:
        if self._stack is None:
            self._stack = select_stack(
                "test",
                self.program,
                state_dir=self.stack_dir,
                project=PROJECT,
                extra_env={"PULUMI_CONFIG_PASSPHRASE": PASSPHRASE},
            )
        return self._stack

    def up(self) -> dict[str, int]:
        return changes(self.stack.up(refresh=True, color="never").summary.resource_changes)

    def preview(self) -> auto.PreviewResult:
        return self.stack.preview(refresh=True, diff=True, color="never")

    def status(self) -> dict[str, Any]:
        return self.client.status(self.name)

    def states(self) -> tuple[str, list[str]]:
        """The connector's and its tasks' states as the worker reports them."""
        status = self.status()
        return status["connector"]["state"], [t["state"] for t in sorted(status["tasks"], key=lambda t: t["id"])]


def live_config(declared: Declared) -> dict[str, str]:
    live = declared.client.get(declared.name)
    assert live is not None, f"connector {declared.name} is gone"
    return dict(live["config"])


def admin(substrate: dict[str, Any]) -> Any:
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": substrate["kafka_bootstrap_servers"]})


def create_topic(substrate: dict[str, Any], topic: str, partitions: int = 1) -> None:
    from confluent_kafka.admin import NewTopic

    client = admin(substrate)  # held: a client destroyed before its future resolves fails it
    client.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[topic].result(30)


def delete_topic(substrate: dict[str, Any], topic: str) -> None:
    client = admin(substrate)
    client.delete_topics([topic])[topic].result(30)
    wait_for(lambda: topic not in client.list_topics(timeout=10).topics, 30, f"topic {topic} deleted")


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


@pytest.fixture
def declared(published: dict[str, Any], tmp_path: Path) -> Iterator[Declared]:
    made = Declared(published, tmp_path / "state")
    create_topic(published, made.topic, partitions=2)
    create_topic(published, made.dead_letter_topic)
    yield made
    if made._stack is not None:
        made.stack.destroy(color="never")
    made.client.delete(made.name)
    for topic in (made.topic, made.dead_letter_topic):
        delete_topic(published, topic)


def behind_the_back(declared: Declared, method: str, path: str, body: Any = None) -> None:
    url = f"{declared.substrate['kafka_connect_url']}/connectors/{declared.name}{path}"
    login = declared.substrate["kafka_connect_auth"]
    response = requests.request(method, url, json=body, auth=(login["username"], login["password"]), timeout=30)
    assert response.status_code < 300, response.text


def produce(declared: Declared, count: int, partition: int = 0) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": declared.substrate["kafka_bootstrap_servers"]})
    for i in range(count):
        producer.produce(declared.topic, value=json.dumps({"id": i}).encode(), partition=partition)
    assert producer.flush(30) == 0


def lake_keys(declared: Declared) -> dict[str, bytes]:
    """The sink's objects of the test's topic and their bodies."""
    s3, bucket = s3_client(declared.substrate), declared.substrate["s3_buckets"]["landing"]
    prefix = f"{naming.S3_SINK_PREFIX}/{declared.topic}/"
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def lake_ids(declared: Declared) -> list[int]:
    """Every record id in the lake: a record written twice counts twice."""
    return sorted(json.loads(line)["id"] for body in lake_keys(declared).values() for line in body.splitlines())


@pytest.mark.parametrize("state", ["PAUSED", "STOPPED"])
def test_created_in_the_declared_state_and_moved_between_states(declared: Declared, state: str) -> None:
    declared.state = state
    produce(declared, 6)
    assert declared.up() == CREATED
    connector, tasks = declared.states()
    assert connector == state
    assert set(tasks) <= ({"PAUSED"} if state == "PAUSED" else set()), tasks  # none ever RUNNING
    assert sink_offsets(declared.client, declared.name) == [], "a connector created paused/stopped read records"
    assert lake_ids(declared) == []
    assert declared.stack.outputs()["state"].value == state
    assert changes(declared.preview().change_summary) == UNCHANGED

    declared.state = "STOPPED" if state == "PAUSED" else "PAUSED"
    assert declared.up() == UPDATED
    assert declared.states()[0] == declared.state

    declared.state = "RUNNING"
    assert declared.up() == UPDATED
    assert declared.states() == ("RUNNING", ["RUNNING", "RUNNING"])
    wait_for(lambda: lake_ids(declared) == list(range(6)), 60, "the six records in the lake")
    assert changes(declared.preview().change_summary) == UNCHANGED


@pytest.mark.parametrize(("verb", "live"), [("pause", "PAUSED"), ("stop", "STOPPED")])
def test_paused_or_stopped_behind_the_stacks_back_shows_in_preview_and_up_repairs_it(
    declared: Declared, verb: str, live: str
) -> None:
    assert declared.up() == CREATED
    assert changes(declared.preview().change_summary) == UNCHANGED

    behind_the_back(declared, "PUT", f"/{verb}")
    wait_for(lambda: declared.states()[0] == live, 30, f"the connector {live}")
    preview = declared.preview()
    assert changes(preview.change_summary) == UPDATED, preview.stdout
    assert re.search(rf'~ state\s*: "{live}" => "RUNNING"', preview.stdout), preview.stdout

    assert declared.up() == UPDATED
    assert declared.states() == ("RUNNING", ["RUNNING", "RUNNING"])
    assert changes(declared.preview().change_summary) == UNCHANGED


def test_reconfigured_behind_the_stacks_back_shows_in_preview_and_up_repairs_it(declared: Declared) -> None:
    assert declared.up() == CREATED
    edited = {**declared.config(), "flush.size": "1000", "name": declared.name}
    behind_the_back(declared, "PUT", "/config", edited)
    preview = declared.preview()
    assert changes(preview.change_summary) == UPDATED, preview.stdout
    assert re.search(r'~ flush.size\s*: "1000" => "3"', preview.stdout), preview.stdout

    assert declared.up() == UPDATED
    assert live_config(declared)["flush.size"] == "3"
    assert changes(declared.preview().change_summary) == UNCHANGED


def test_the_workers_echo_of_references_and_secret_values_is_no_drift(declared: Declared, tmp_path: Path) -> None:
    """The config holds `${env:...}` references the worker echoes unresolved; the stack's login is a secret: a
    refresh changes nothing and the state file holds no secret in plaintext."""
    assert declared.up() == CREATED
    assert live_config(declared)["aws.secret.access.key"].startswith("${env:")
    refreshed = declared.stack.refresh(color="never")
    assert changes(refreshed.summary.resource_changes) == UNCHANGED, refreshed.stdout
    state = state_file("test", PROJECT, declared.stack_dir).read_text()
    assert declared.substrate["kafka_connect_auth"]["password"] not in state
    assert changes(declared.preview().change_summary) == UNCHANGED


def test_a_failed_task_is_drift_and_up_restarts_only_it(declared: Declared) -> None:
    """A task that cannot start: its dead-letter topic is gone and the worker cannot create it (replication
    factor 3 on one broker). Up names the task while that lasts; once the topic is back, up restarts it."""
    declared.overrides["errors.deadletterqueue.topic.replication.factor"] = "3"
    declared.running_timeout_s = 30
    assert declared.up() == CREATED  # the dead-letter topic exists: the task starts
    delete_topic(declared.substrate, declared.dead_letter_topic)
    behind_the_back(declared, "POST", "/tasks/0/restart")  # as a worker restart or a rebalance would
    wait_for(lambda: declared.states()[1][0] == "FAILED", 60, "task 0 FAILED")
    assert declared.states()[1][1] == "RUNNING"

    preview = declared.preview()
    assert changes(preview.change_summary) == UPDATED, preview.stdout
    assert re.search(r'~ state\s*: "FAILED \(task 0: [\w.]+Exception: [^"]+\)" => "RUNNING"', preview.stdout), (
        preview.stdout
    )

    with pytest.raises(auto.errors.CommandError, match=r"not RUNNING[^\n]*task 0: [\w.]+Exception"):
        declared.stack.up(refresh=True, color="never")
    # only task 0 was restarted: task 1, restarted, could not have started either
    assert declared.states() == ("RUNNING", ["FAILED", "RUNNING"])

    create_topic(declared.substrate, declared.dead_letter_topic)
    assert declared.up() == UPDATED
    assert declared.states() == ("RUNNING", ["RUNNING", "RUNNING"])
    assert changes(declared.preview().change_summary) == UNCHANGED


def committed(declared: Declared) -> list[SinkOffset]:
    return sink_offsets(declared.client, declared.name)


def stack_outputs_file(declared: Declared, path: Path) -> Path:
    """The outputs a stack with this connector as its S3 sink would have (what `offsets --outputs FILE` reads)."""
    outputs = {
        **declared.substrate,
        "stack": "devstack",
        "firestore_collections": {},
        "mongodb_database": "unused",
        "mongodb_collections": {},
        "kafka_topics": {},
        "kafka_auth": None,
        "s3_sink": {
            "connector": declared.name,
            "topics": [declared.topic],
            "bucket": "b",
            "prefix": "p",
            "flavour": "f",
        },
    }
    path.write_text(json.dumps(outputs), encoding="utf-8")
    return path


def offsets_verb(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    """`python -m stacks offsets ARGS`: its exit code must be 0; returns the lines it printed."""
    from stacks.cli import main

    capsys.readouterr()
    assert main(["offsets", *args]) == 0, capsys.readouterr().err
    return capsys.readouterr().out.splitlines()


def written_at(declared: Declared) -> dict[str, str]:
    """When the sink wrote each object of the test's topic (its own metadata): a rewrite changes it."""
    s3, bucket = s3_client(declared.substrate), declared.substrate["s3_buckets"]["landing"]
    return {key: s3.head_object(Bucket=bucket, Key=key)["Metadata"][WRITTEN_AT] for key in lake_keys(declared)}


def test_offsets_listed_rewound_and_reset_with_each_record_in_the_lake_once(
    declared: Declared, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = str(stack_outputs_file(declared, tmp_path / "outputs.json"))
    every_id = sorted([*range(9), *range(3)])
    assert declared.up() == CREATED
    produce(declared, 9, partition=0)
    produce(declared, 3, partition=1)
    at_end = [SinkOffset(declared.topic, 0, 9), SinkOffset(declared.topic, 1, 3)]
    wait_for(lambda: committed(declared) == at_end, 60, "offsets committed at the topic's end")
    objects, first_written = lake_keys(declared), written_at(declared)
    assert len(objects) == 4 and lake_ids(declared) == every_id

    # a partition rewound and left stopped through the CLI verb: the offset written is the one listed
    rewound = ["rewind", "--topic", declared.topic, "--partition", "0", "--to-offset", "2", "--then", "STOPPED"]
    assert offsets_verb(capsys, *rewound, "--outputs", outputs)[-1].split() == [declared.topic, "0", "2"]
    assert committed(declared) == [SinkOffset(declared.topic, 0, 2), SinkOffset(declared.topic, 1, 3)]
    listed = offsets_verb(capsys, "list", "--outputs", outputs)
    assert [line.split() for line in listed[1:]] == [[declared.topic, "0", "2"], [declared.topic, "1", "3"]]
    assert declared.states() == ("STOPPED", [])
    # what the verb brings a connector back to with --stack: the state the stack's last up declared
    assert state_declared_in(declared.stack.export_stack().deployment, declared.name) == "RUNNING"

    # an object lost in the middle of the lake: a rewind of the whole topic writes it again, and only it
    lost = next(key for key in objects if key.endswith(f"{declared.topic}+0+0000000003.json"))
    s3_client(declared.substrate).delete_object(Bucket=declared.substrate["s3_buckets"]["landing"], Key=lost)
    offsets_verb(capsys, "rewind", "--topic", declared.topic, "--then", "RUNNING", "--outputs", outputs)
    wait_for(lambda: lake_keys(declared) == objects, 60, f"the lost object {lost} written again")
    wait_for(lambda: committed(declared) == at_end, 60, "offsets committed at the end again")
    rewritten = {key for key, at in written_at(declared).items() if at != first_written[key]}
    assert rewritten == {lost}
    assert lake_ids(declared) == every_id

    # a reset of the whole connector reads everything again: S3 holds it all, so nothing is written again
    before_reset = written_at(declared)
    reset(declared.client, declared.name)
    wait_for(lambda: committed(declared) == at_end, 60, "offsets committed at the end after the reset")
    assert written_at(declared) == before_reset
    assert lake_ids(declared) == every_id
    assert declared.states()[0] == "RUNNING"
    assert changes(declared.preview().change_summary) == UNCHANGED
