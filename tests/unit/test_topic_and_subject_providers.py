"""Topic and schema-subject dynamic providers: table-driven check/diff, and the registry REST calls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.kafka_topic import PartitionDrift, TopicProvider, topic_diff, topic_failures
from components.schema_subject import (
    SubjectProvider,
    apicurio_api,
    live_compatibility,
    same_schema,
    schema_text,
    subject_diff,
    subject_failures,
)
from schemas import load as load_schema
from tests.unit._fake_http import FakeHttp, response

TOPIC: dict[str, Any] = {
    "bootstrap_servers": "127.0.0.1:9092",
    "topic": "cards-data",
    "partitions": 3,
    "replication_factor": 1,
    "configs": {"retention.ms": "1000"},
}
#: a topic's outputs: its inputs, and the partition count the stack declared (what drift is told from)
TOPIC_OUTS: dict[str, Any] = {**TOPIC, "declared_partitions": 3}
SCHEMA = schema_text(load_schema("cards").json_schema())
SUBJECT: dict[str, Any] = {
    "registry_url": "http://127.0.0.1:8081",
    "subject": "cards-data-value",
    "schema": SCHEMA,
    "schema_type": "JSON",
    "compatibility": "BACKWARD",
}


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({}, []),
        ({"topic": "bad topic"}, ["topic"]),
        ({"topic": ".."}, ["topic"]),
        ({"bootstrap_servers": ""}, ["bootstrap_servers"]),
        ({"partitions": 0}, ["partitions"]),
        ({"replication_factor": True}, ["replication_factor"]),
        ({"configs": {"retention.ms": 1000}}, ["configs.retention.ms"]),
    ],
)
def test_topic_check(change: dict[str, Any], failing: list[str]) -> None:
    assert [f.property for f in topic_failures({**TOPIC, **change})] == failing


@pytest.mark.parametrize(
    ("change", "changes", "replaces"),
    [
        ({}, False, []),
        ({"partitions": 6}, True, []),
        ({"partitions": 1}, True, ["partitions"]),
        ({"replication_factor": 3}, True, ["replication_factor"]),
        ({"topic": "other"}, True, ["topic"]),
        ({"configs": {"retention.ms": "2000"}}, True, []),
    ],
)
def test_topic_diff(change: dict[str, Any], changes: bool, replaces: list[str]) -> None:
    result = topic_diff(TOPIC_OUTS, {**TOPIC, **change})
    assert (result.changes, result.replaces) == (changes, replaces)


def test_partitions_added_behind_the_stacks_back_fail_the_diff_in_one_line_instead_of_a_replacement() -> None:
    refreshed = {**TOPIC_OUTS, "partitions": 5}  # live 5, the stack declared 3 and still does
    with pytest.raises(PartitionDrift) as err:
        topic_diff(refreshed, TOPIC)
    assert str(err.value).startswith("topic cards-data: 5 partitions live, 3 declared; Kafka cannot remove")
    assert "\n" not in str(err.value)
    with pytest.raises(PartitionDrift):  # a state from before declared_partitions: never a replacement
        topic_diff({**TOPIC, "partitions": 5}, TOPIC)


def test_declaring_fewer_partitions_than_before_replaces_even_after_drift() -> None:
    refreshed = {**TOPIC_OUTS, "partitions": 5}
    result = topic_diff(refreshed, {**TOPIC, "partitions": 2})
    assert (result.changes, result.replaces) == (True, ["partitions"])
    # declaring the live count settles the drift: nothing left to change
    assert not topic_diff(refreshed, {**TOPIC, "partitions": 5}).changes


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({}, []),
        ({"subject": ""}, ["subject"]),
        ({"registry_url": "127.0.0.1:8081"}, ["registry_url"]),
        ({"compatibility": "SOMETIMES"}, ["compatibility"]),
        ({"schema": "{not json"}, ["schema"]),
        ({"schema": "[1, 2]"}, ["schema"]),
        ({"schema_type": "XML"}, ["schema_type"]),
    ],
)
def test_subject_check(change: dict[str, Any], failing: list[str]) -> None:
    assert [f.property for f in subject_failures({**SUBJECT, **change})] == failing


@pytest.mark.parametrize(
    ("change", "changes", "replaces"),
    [
        ({}, False, []),
        ({"schema": json.dumps(json.loads(SCHEMA), indent=2)}, False, []),  # formatting is not drift
        ({"schema": SCHEMA.replace('"minimum":0', '"minimum":1', 1)}, True, []),
        ({"compatibility": "FULL"}, True, []),
        ({"subject": "other-value"}, True, ["subject"]),
    ],
)
def test_subject_diff(change: dict[str, Any], changes: bool, replaces: list[str]) -> None:
    result = subject_diff(SUBJECT, {**SUBJECT, **change})
    assert (result.changes, result.replaces) == (changes, replaces)


def test_same_schema_ignores_key_order() -> None:
    assert same_schema('{"a": 1, "b": 2}', '{"b":2,"a":1}')
    assert not same_schema('{"a": 1}', '{"a": 2}')


def test_subject_create_sets_compatibility_then_registers(monkeypatch: pytest.MonkeyPatch) -> None:
    http = FakeHttp(
        {
            ("PUT", "/config/cards-data-value"): [response(200, {"compatibility": "BACKWARD"})],
            ("POST", "/subjects/cards-data-value/versions"): [response(200, {"id": 7})],
            ("GET", "/subjects/cards-data-value/versions/latest"): [
                response(200, {"schema": SCHEMA, "version": 2, "id": 7})
            ],
        }
    )
    monkeypatch.setattr("requests.request", http)
    result = SubjectProvider().create(dict(SUBJECT))
    assert [c[:2] for c in http.calls] == [
        ("PUT", "/config/cards-data-value"),
        ("POST", "/subjects/cards-data-value/versions"),
        ("GET", "/subjects/cards-data-value/versions/latest"),
    ]
    assert http.calls[1][2] == {"schema": SCHEMA, "schemaType": "JSON"}
    assert (result.id, (result.outs or {})["schema_id"], (result.outs or {})["version"]) == ("cards-data-value", 7, 2)


def test_subject_delete_is_soft_then_permanent(monkeypatch: pytest.MonkeyPatch) -> None:
    http = FakeHttp({})
    monkeypatch.setattr("requests.request", http)
    SubjectProvider().delete("cards-data-value", dict(SUBJECT))
    assert [c[:2] for c in http.calls] == [
        ("DELETE", "/subjects/cards-data-value"),
        ("DELETE", "/subjects/cards-data-value?permanent=true"),
    ]


def test_topic_provider_takes_the_engines_whole_floats_as_ints() -> None:
    # the engine hands integers over gRPC as doubles: 3 arrives as 3.0
    floats = {**TOPIC, "partitions": 3.0, "replication_factor": 1.0}
    checked = TopicProvider().check({}, floats)
    assert checked.failures == []
    assert checked.inputs["partitions"] == 3 and isinstance(checked.inputs["partitions"], int)
    assert TopicProvider().diff("cards-data", {**floats, "declared_partitions": 3.0}, TOPIC).changes is False
    with pytest.raises(PartitionDrift):  # 5.0 live against a declared 3.0 compares as numbers
        TopicProvider().diff("cards-data", {**floats, "partitions": 5.0, "declared_partitions": 3.0}, TOPIC)


def test_topic_check_still_refuses_a_fractional_partition_count() -> None:
    assert [f.property for f in TopicProvider().check({}, {**TOPIC, "partitions": 2.5}).failures] == ["partitions"]


@pytest.mark.parametrize(
    ("config", "level"),
    [
        ({"compatibilityLevel": "FULL"}, "FULL"),
        ({"compatibility": "FORWARD"}, "FORWARD"),
        (None, "NONE"),  # no subject-level setting (404)
    ],
)
def test_live_compatibility(config: dict[str, Any] | None, level: str) -> None:
    assert live_compatibility(config) == level


def test_subject_refresh_reports_live_compatibility_keeps_our_schema_text_and_no_ids_as_inputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reformatted = json.dumps(json.loads(SCHEMA), indent=2)
    http = FakeHttp(
        {
            ("GET", "/subjects/cards-data-value/versions/latest"): [
                response(200, {"schema": reformatted, "schemaType": "JSON", "id": 7, "version": 2})
            ],
            ("GET", "/config/cards-data-value"): [response(200, {"compatibilityLevel": "FORWARD"})],
        }
    )
    monkeypatch.setattr("requests.request", http)
    state = {**SUBJECT, "schema_id": 7, "version": 2}
    read = SubjectProvider().read("cards-data-value", state)
    assert read.outs is not None and read.inputs is not None
    assert (read.outs["compatibility"], read.outs["schema"], read.outs["schema_id"]) == ("FORWARD", SCHEMA, 7)
    assert read.inputs == {**SUBJECT, "compatibility": "FORWARD", "schema_id": None, "version": None}
    assert subject_diff(read.outs, SUBJECT).changes


def test_a_subject_deleted_by_hand_is_gone_though_apicurio_still_answers_its_latest_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Apicurio after a DELETE of the subject by hand: `versions/latest` still answers, with a DISABLED version."""
    meta = "/apis/registry/v2/groups/default/artifacts/cards-data-value/versions/2/meta"
    http = FakeHttp(
        {
            ("GET", "/apis/ccompat/v7/subjects/cards-data-value/versions/latest"): [
                response(200, {"schema": SCHEMA, "schemaType": "JSON", "id": 7, "version": 2})
            ],
            ("GET", meta): [response(200, {"state": "DISABLED"}), response(200, {"state": "ENABLED"})],
            ("GET", "/apis/ccompat/v7/config/cards-data-value"): [response(200, {"compatibilityLevel": "BACKWARD"})],
        }
    )
    monkeypatch.setattr("requests.request", http)
    state = {**SUBJECT, "registry_url": "http://127.0.0.1:15050/apis/ccompat/v7", "schema_id": 7, "version": 2}
    assert SubjectProvider().read("cards-data-value", state).id is None  # preview: a create; up restores its ids
    assert SubjectProvider().read("cards-data-value", state).id == "cards-data-value"  # enabled: it is there


def test_apicurios_own_api_is_found_beside_its_confluent_compatible_one() -> None:
    assert apicurio_api("http://127.0.0.1:15050/apis/ccompat/v7") == "http://127.0.0.1:15050/apis/registry/v2"
    assert apicurio_api("http://registry.internal:8081") is None  # Confluent's: nothing to enable by hand


def test_an_update_retires_versions_registered_after_ours_so_ours_is_the_latest_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    theirs = SCHEMA.replace('"minimum":0', '"minimum":1', 1)
    http = FakeHttp(
        {
            ("PUT", "/config/cards-data-value"): [response(200, {"compatibility": "BACKWARD"})],
            ("POST", "/subjects/cards-data-value/versions"): [response(200, {"id": 7})],  # ours is held: no version
            ("GET", "/subjects/cards-data-value/versions/latest"): [
                response(200, {"schema": theirs, "id": 9, "version": 3}),
                response(200, {"schema": SCHEMA, "id": 7, "version": 2}),
            ],
            ("POST", "/subjects/cards-data-value"): [response(200, {"id": 7, "version": 2})],
            ("GET", "/subjects/cards-data-value/versions"): [response(200, [1, 2, 3])],
            ("DELETE", "/subjects/cards-data-value/versions/3"): [response(200, 3)],
        }
    )
    monkeypatch.setattr("requests.request", http)
    outs = SubjectProvider().update("cards-data-value", dict(SUBJECT), dict(SUBJECT)).outs or {}
    deleted = [path for method, path, _ in http.calls if method == "DELETE"]
    assert deleted == ["/subjects/cards-data-value/versions/3"]  # not 1 or 2: ours and the one before it
    assert (outs["schema_id"], outs["version"]) == (7, 2)
