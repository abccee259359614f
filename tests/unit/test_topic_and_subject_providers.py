"""Topic and schema-subject dynamic providers: table-driven check/diff, and the registry REST calls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.kafka_topic import TopicProvider, topic_diff, topic_failures
from components.schema_subject import SubjectProvider, same_schema, schema_text, subject_diff, subject_failures
from schemas import load as load_schema
from tests.unit._fake_http import FakeHttp, response

TOPIC: dict[str, Any] = {
    "bootstrap_servers": "127.0.0.1:9092",
    "topic": "cards-data",
    "partitions": 3,
    "replication_factor": 1,
    "configs": {"retention.ms": "1000"},
}
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
    result = topic_diff(TOPIC, {**TOPIC, **change})
    assert (result.changes, result.replaces) == (changes, replaces)


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
            ("GET", "/subjects/cards-data-value/versions/latest"): [response(200, {"version": 2, "id": 7})],
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
    assert TopicProvider().diff("cards-data", floats, TOPIC).changes is False


def test_topic_check_still_refuses_a_fractional_partition_count() -> None:
    assert [f.property for f in TopicProvider().check({}, {**TOPIC, "partitions": 2.5}).failures] == ["partitions"]
