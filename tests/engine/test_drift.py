"""Drift that shows and heals, on the real engine and devstack's real services: each object the `devstack` stack
owns is changed behind its back with the service's own API; the preview `make preview` runs (refreshing first on
devstack) shows the change, `up` (which refreshes) puts the live object back, and the next preview shows none.
Masked secrets and server-side defaults never show. Also a topic's update and refresh through the resource alone,
against the broker."""

from __future__ import annotations

import gc
import json
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import requests
from pulumi import automation as auto

from components.kafka_topic import KafkaTopic
from contract import naming
from contract.backend import state_file
from contract.outputs import PROJECT
from demo.airflow import DevstackAirflow
from devstack.config import DevstackConfig
from devstack.outputs import build_outputs
from stacks.cli import preview_refreshes
from stacks.engine import changes, outputs_of

pytestmark = pytest.mark.devstack

TOPIC = naming.kafka_topic("cards")
SUBJECT = naming.schema_subject(TOPIC)
WEEK_MS = str(7 * 24 * 3600 * 1000)  # the retention the stack declares for every topic
REGISTRY_CONTENT_TYPE = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


class Deployed(NamedTuple):
    stack: auto.Stack
    outputs: dict[str, Any]
    state_dir: Path


@pytest.fixture(scope="module")
def deployed(
    devstack_stack: Callable[[Path], auto.Stack], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    """The devstack stack, up once for the module; every test leaves it as it found it (that is what it tests)."""
    state_dir = tmp_path_factory.mktemp("drift-state")
    stack = devstack_stack(state_dir)
    stack.up(color="never")
    yield Deployed(stack, outputs_of(stack), state_dir)
    stack.destroy(color="never")


def preview(stack: auto.Stack) -> auto.PreviewResult:
    """`make preview` of the devstack stack: refreshed first, because that is the CLI's default there."""
    return stack.preview(diff=True, refresh=preview_refreshes("devstack", None), color="never")


def assert_drift_heals(
    stack: auto.Stack, op: str | set[str], shown: tuple[str, ...], healed: Callable[[], bool]
) -> None:
    """The preview shows one change, an `op` (update, create; or any of a set), naming every text in `shown`;
    `up` makes `healed()` true; the next preview has nothing to do."""
    before = preview(stack)
    summary = changes(before.change_summary)
    change = set(summary) - {"same"}
    assert len(change) == 1 and change <= ({op} if isinstance(op, str) else op), before.stdout
    assert summary[change.pop()] == 1, before.stdout
    for text in shown:
        assert text in before.stdout, f"{text!r} not in the preview:\n{before.stdout}"
    stack.up(refresh=True, color="never")
    assert healed()
    after = preview(stack)
    assert set(changes(after.change_summary)) == {"same"}, after.stdout


# --- Kafka ----------------------------------------------------------------------------------------------


#: the module's one AdminClient per broker, shared by the helpers below
_ADMINS: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def _one_admin_client() -> Iterator[None]:
    """Released when the module ends: cyclic garbage that still points at the client (a failed future's
    traceback) is collected first, so the client goes with its last reference, not later with the garbage
    collector while its broker threads run on (the suite's leak check names such a client)."""
    yield
    gc.collect()
    _ADMINS.clear()


def _admin(outputs: dict[str, Any]) -> Any:
    from confluent_kafka.admin import AdminClient

    bootstrap = outputs["kafka_bootstrap_servers"]
    if bootstrap not in _ADMINS:
        _ADMINS[bootstrap] = AdminClient({"bootstrap.servers": bootstrap})
    return _ADMINS[bootstrap]


def _forget_frames(exc: BaseException) -> None:
    """A failed admin future keeps its error, whose traceback keeps the frames that keep the future and the
    client: a cycle only the garbage collector frees, with the client's broker threads running until then."""
    traceback.clear_frames(exc.__traceback__)


def topic_config(outputs: dict[str, Any], topic: str, key: str) -> str:
    from confluent_kafka.admin import ConfigResource, ResourceType

    resource = ConfigResource(ResourceType.TOPIC, topic)
    admin = _admin(outputs)  # referenced until the future resolves: a collected client fails it
    return str(admin.describe_configs([resource])[resource].result(timeout=10)[key].value)


def set_topic_config(outputs: dict[str, Any], topic: str, key: str, value: str) -> None:
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

    entry = ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
    admin = _admin(outputs)
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[entry])
    admin.incremental_alter_configs([resource])[resource].result(timeout=10)


def partitions(outputs: dict[str, Any], topic: str) -> int:
    """The topic's partition count, 0 when it does not exist (all topics are listed: a broker that creates
    topics on first use would create one asked for by name)."""
    metadata = _admin(outputs).list_topics(timeout=10).topics.get(topic)
    return 0 if metadata is None else len(metadata.partitions)


def add_partitions(outputs: dict[str, Any], topic: str, count: int) -> None:
    from confluent_kafka.admin import NewPartitions

    admin = _admin(outputs)
    admin.create_partitions([NewPartitions(topic, count)])[topic].result(timeout=10)


def recreate_topic(outputs: dict[str, Any], topic: str, count: int) -> None:
    """Delete the topic and create it again with `count` partitions and the broker's default configs. Deletion
    completes asynchronously, and the S3 sink's consumer may make the broker create the topic again first, with its
    own defaults: then it is deleted again."""
    from confluent_kafka.admin import NewTopic

    admin = _admin(outputs)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            admin.delete_topics([topic])[topic].result(timeout=10)
        except Exception as exc:  # already gone, or being deleted
            _forget_frames(exc)
        try:
            admin.create_topics([NewTopic(topic, num_partitions=count, replication_factor=1)])[topic].result(timeout=10)
            return
        except Exception as exc:
            _forget_frames(exc)
            if "TOPIC_ALREADY_EXISTS" not in str(exc) and "marked for deletion" not in str(exc):
                raise
        time.sleep(0.5)
    raise AssertionError(f"topic {topic} could not be created again after its deletion")


def test_a_topic_config_changed_by_hand_shows_and_heals(deployed: Deployed) -> None:
    stack, outputs, _ = deployed
    set_topic_config(outputs, TOPIC, "retention.ms", "60000")
    assert_drift_heals(
        stack,
        "update",
        (f"topic-{TOPIC}", "retention.ms", "60000"),
        lambda: topic_config(outputs, TOPIC, "retention.ms") == WEEK_MS,
    )


def test_a_topic_recreated_by_hand_with_fewer_partitions_and_default_configs_shows_and_heals(
    deployed: Deployed,
) -> None:
    stack, outputs, _ = deployed
    recreate_topic(outputs, TOPIC, 1)
    assert_drift_heals(
        stack,
        "update",
        (f"topic-{TOPIC}", "partitions", "retention.ms"),
        lambda: partitions(outputs, TOPIC) == 3 and topic_config(outputs, TOPIC, "retention.ms") == WEEK_MS,
    )


def test_partitions_added_by_hand_are_reported_in_one_line_not_replaced_or_looped_on(
    deployed: Deployed,
) -> None:
    stack, outputs, _ = deployed
    add_partitions(outputs, TOPIC, 5)
    for run in (preview, lambda s: s.up(refresh=True, color="never")):
        with pytest.raises(auto.errors.CommandError) as err:
            run(stack)
        assert f"topic {TOPIC}: 5 partitions live, 3 declared; Kafka cannot remove partitions" in str(err.value)
    assert partitions(outputs, TOPIC) == 5  # neither deleted nor touched
    # what the message offers: delete the topic, and the stack creates it as declared (or grows it: the S3 sink
    # reads the topic, and its consumer may have the broker create it again at once, with 1 partition)
    admin = _admin(outputs)
    admin.delete_topics([TOPIC])[TOPIC].result(timeout=10)
    assert_drift_heals(stack, {"create", "update"}, (f"topic-{TOPIC}",), lambda: partitions(outputs, TOPIC) == 3)


# --- schema registry ------------------------------------------------------------------------------------


def subject_compatibility(outputs: dict[str, Any], subject: str) -> str | None:
    response = requests.get(f"{outputs['schema_registry_url']}/config/{subject}", timeout=10)
    return None if response.status_code == 404 else str(response.json()["compatibilityLevel"])


def subject_exists(outputs: dict[str, Any], subject: str) -> bool:
    url = f"{outputs['schema_registry_url']}/subjects/{subject}/versions/latest"
    return requests.get(url, timeout=10).status_code == 200


def test_a_deleted_subject_shows_and_comes_back(deployed: Deployed) -> None:
    stack, outputs, _ = deployed
    url = f"{outputs['schema_registry_url']}/subjects/{SUBJECT}"
    assert requests.delete(url, timeout=10).status_code == 200
    assert not subject_exists(outputs, SUBJECT)
    assert_drift_heals(
        stack,
        "create",
        (f"subject-{SUBJECT}",),
        lambda: subject_exists(outputs, SUBJECT) and subject_compatibility(outputs, SUBJECT) == "BACKWARD",
    )


def test_a_subjects_compatibility_changed_by_hand_shows_and_heals(
    deployed: Deployed,
) -> None:
    stack, outputs, _ = deployed
    url = f"{outputs['schema_registry_url']}/config/{SUBJECT}"
    body = {"compatibility": "FORWARD"}
    assert requests.put(url, json=body, headers=REGISTRY_CONTENT_TYPE, timeout=10).status_code == 200
    assert subject_compatibility(outputs, SUBJECT) == "FORWARD"
    assert_drift_heals(
        stack,
        "update",
        (f"subject-{SUBJECT}", "compatibility", "FORWARD"),
        lambda: subject_compatibility(outputs, SUBJECT) == "BACKWARD",
    )


def test_a_schema_version_registered_by_hand_shows_and_the_stacks_schema_is_the_latest_again(
    deployed: Deployed,
) -> None:
    stack, outputs, _ = deployed
    base = outputs["schema_registry_url"]
    ours = requests.get(f"{base}/subjects/{SUBJECT}/versions/latest", timeout=10).json()
    schema = json.loads(ours["schema"])
    schema["properties"]["note_by_hand"] = {"type": "string"}  # an optional field: a compatible version
    body = {"schema": json.dumps(schema), "schemaType": "JSON"}
    registered = requests.post(f"{base}/subjects/{SUBJECT}/versions", json=body, headers=REGISTRY_CONTENT_TYPE)
    assert registered.status_code == 200, registered.text
    assert_drift_heals(
        stack,
        "update",
        (f"subject-{SUBJECT}", "note_by_hand"),
        lambda: requests.get(f"{base}/subjects/{SUBJECT}/versions/latest", timeout=10).json()["id"] == ours["id"],
    )
    # the version made by hand is retired, not erased: records written with its id stay readable
    assert requests.get(f"{base}/schemas/ids/{registered.json()['id']}", timeout=10).status_code == 200


# --- Airflow --------------------------------------------------------------------------------------------


def test_an_airflow_variable_edited_in_airflow_shows_and_heals(substrate: DevstackConfig, deployed: Deployed) -> None:
    stack, _, _ = deployed
    airflow, key = DevstackAirflow(substrate), naming.AIRFLOW_STACK_OUTPUTS_VARIABLE
    ours = airflow.get(f"/variables/{key}")["value"]
    airflow.call("PATCH", f"/variables/{key}", json={"key": key, "value": '{"edited": "by hand"}'})
    assert_drift_heals(
        stack,
        "update",
        (key, "edited"),
        lambda: airflow.get(f"/variables/{key}")["value"] == ours,
    )


def test_an_airflow_connection_edited_in_airflow_shows_and_heals_and_its_masked_secrets_never_show(
    substrate: DevstackConfig, deployed: Deployed
) -> None:
    stack, outputs, state_dir = deployed
    airflow, conn_id = DevstackAirflow(substrate), naming.AIRFLOW_MONGO_CONNECTION
    ours = airflow.get(f"/connections/{conn_id}")
    masked = airflow.get(f"/connections/{naming.AIRFLOW_AWS_CONNECTION}")["password"]
    assert masked == "***"  # Airflow masks every password: the state's value stands, never drift
    edited = {"connection_id": conn_id, "conn_type": ours["conn_type"], "host": "edited.example"}
    airflow.call("PATCH", f"/connections/{conn_id}", json=edited, params={"update_mask": "host"})
    assert_drift_heals(
        stack,
        "update",
        (f"-{conn_id}", "host", "edited.example"),
        lambda: airflow.get(f"/connections/{conn_id}")["host"] == ours["host"],
    )
    # the refreshes wrote the state: the secrets they read back are still encrypted in it
    state_text = state_file("devstack", PROJECT, state_dir).read_text()
    for secret in (outputs["aws_credentials"]["secret_access_key"], airflow.credentials["password"]):
        assert secret not in state_text


# --- a topic alone: update and refresh through the resource -----------------------------------------------


def test_a_topics_update_and_refresh_drift_against_the_broker(
    substrate: DevstackConfig, engine_stack: Callable[..., auto.Stack]
) -> None:
    outputs = {"kafka_bootstrap_servers": build_outputs(substrate)["kafka_bootstrap_servers"]}
    name = "engine-drift-topic"
    declared: dict[str, Any] = {"partitions": 1, "configs": {"retention.ms": "3600000"}}

    def program() -> None:
        KafkaTopic(
            "topic",
            {
                "bootstrap_servers": outputs["kafka_bootstrap_servers"],
                "topic": name,
                "partitions": declared["partitions"],
                "configs": declared["configs"],
            },
        )

    stack = engine_stack(program)
    stack.up(color="never")
    assert (partitions(outputs, name), topic_config(outputs, name, "retention.ms")) == (1, "3600000")
    default_cleanup = topic_config(outputs, name, "cleanup.policy")

    # more partitions and another config, in place
    declared.update(partitions=2, configs={"retention.ms": "7200000", "cleanup.policy": "compact"})
    assert changes(stack.up(color="never").summary.resource_changes) == {"update": 1, "same": 1}
    assert partitions(outputs, name) == 2
    assert topic_config(outputs, name, "retention.ms") == "7200000"
    assert topic_config(outputs, name, "cleanup.policy") == "compact"

    # a config the stack stops declaring goes back to the broker's default, which is then no drift
    declared.update(configs={"retention.ms": "7200000"})
    stack.up(color="never")
    assert topic_config(outputs, name, "cleanup.policy") == default_cleanup
    assert changes(stack.refresh(color="never").summary.resource_changes) == {"same": 2}

    # refresh records what changed on the broker; up puts it back
    set_topic_config(outputs, name, "retention.ms", "1000")
    refreshed = stack.refresh(color="never")
    assert changes(refreshed.summary.resource_changes) == {"update": 1, "same": 1}, refreshed.stdout
    assert changes(stack.preview(color="never").change_summary) == {"update": 1, "same": 1}
    stack.up(color="never")
    assert topic_config(outputs, name, "retention.ms") == "7200000"
    assert changes(stack.preview(refresh=True, color="never").change_summary) == {"same": 2}

    stack.destroy(color="never")
    assert partitions(outputs, name) == 0
