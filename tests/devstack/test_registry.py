"""Schema registry (devstack): confluent-kafka's SchemaRegistryClient registers a JSON schema and reads it back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _streaming_records import cards_schema_str, unique_topic

from contract import naming

pytestmark = pytest.mark.devstack


def test_register_json_schema_and_read_it_back_by_id(devstack: Any) -> None:
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

    outputs = devstack("registry")
    client = SchemaRegistryClient({"url": outputs["schema_registry_url"]})
    subject = naming.schema_subject(unique_topic("devstack-registry-test"))
    schema_str = cards_schema_str()

    schema_id = client.register_schema(subject, Schema(schema_str, "JSON"))
    assert isinstance(schema_id, int) and schema_id > 0

    fetched = SchemaRegistryClient({"url": outputs["schema_registry_url"]}).get_schema(schema_id)  # no cache
    assert fetched.schema_type == "JSON"
    assert fetched.schema_str is not None
    assert json.loads(fetched.schema_str) == json.loads(schema_str)

    latest = client.get_latest_version(subject)
    assert (latest.schema_id, latest.version, latest.subject) == (schema_id, 1, subject)
    assert client.get_versions(subject) == [1]

    # registering the same schema again is idempotent; a changed one becomes version 2 with a new id
    assert client.register_schema(subject, Schema(schema_str, "JSON")) == schema_id
    changed = json.loads(schema_str)
    changed["properties"]["nickname"] = {"type": "string"}
    changed.pop("additionalProperties", None)
    new_id = client.register_schema(subject, Schema(json.dumps(changed), "JSON"))
    assert new_id != schema_id
    assert client.get_versions(subject) == [1, 2]


def test_unknown_schema_id_is_a_404(devstack: Any) -> None:
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    outputs = devstack("registry")
    client = SchemaRegistryClient({"url": outputs["schema_registry_url"]})
    with pytest.raises(SchemaRegistryError) as err:
        client.get_schema(987654)
    assert err.value.http_status_code == 404


def test_subject_delete_as_the_seed_runbook_does(devstack: Any) -> None:
    import requests

    outputs = devstack("registry")
    base = outputs["schema_registry_url"]
    subject = naming.schema_subject(unique_topic("devstack-registry-delete"))
    resp = requests.post(
        f"{base}/subjects/{subject}/versions",
        json={"schema": cards_schema_str(), "schemaType": "JSON"},
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
        timeout=10,
    )
    assert resp.status_code == 200 and "id" in resp.json()
    assert requests.delete(f"{base}/subjects/{subject}", timeout=10).json() == [1]
    assert subject not in requests.get(f"{base}/subjects", timeout=10).json()
