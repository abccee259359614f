"""Schema registry (devstack's Apicurio on an H2 file): subjects, versions, schema ids and compatibility written before
a kill -9 or a stop are the same after the next start, and a schema registered then gets an id above every earlier
one, so an id inside an older Kafka record never names another schema."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from _streaming_records import unique_topic

from contract import naming
from devstack.config import DevstackConfig
from devstack.services.registry import SchemaRegistry

pytestmark = pytest.mark.devstack

HEADERS = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


def _schema(*properties: str) -> str:
    """A closed object of string properties: adding one is a compatible change under BACKWARD."""
    properties_ = {p: {"type": "string"} for p in properties}
    return json.dumps({"type": "object", "properties": properties_, "additionalProperties": False})


def _register(base: str, subject: str, schema: str) -> int:
    resp = requests.post(
        f"{base}/subjects/{subject}/versions",
        json={"schema": schema, "schemaType": "JSON"},
        headers=HEADERS,
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    schema_id: int = resp.json()["id"]
    return schema_id


def _versions(base: str) -> dict[tuple[str, int], int]:
    """(subject, version) -> schema id, for every version of every subject the registry holds."""
    found = {}
    for subject in requests.get(f"{base}/subjects", timeout=10).json():
        for version in requests.get(f"{base}/subjects/{subject}/versions", timeout=10).json():
            reply = requests.get(f"{base}/subjects/{subject}/versions/{version}", timeout=10).json()
            found[(subject, version)] = reply["id"]
    return found


@pytest.mark.parametrize("how", ["kill -9", "stop"])
def test_subjects_versions_ids_and_compatibility_survive_a_restart(devstack: Callable[..., Any], how: str) -> None:
    base = devstack("registry")["schema_registry_url"]
    first, second = (naming.schema_subject(unique_topic(f"devstack-durable-{n}")) for n in ("first", "second"))
    schemas = {_register(base, first, _schema("a")): _schema("a")}
    schemas[_register(base, first, _schema("a", "b"))] = _schema("a", "b")
    schemas[_register(base, second, _schema("c"))] = _schema("c")
    resp = requests.put(f"{base}/config/{second}", json={"compatibility": "FORWARD"}, headers=HEADERS, timeout=10)
    assert resp.status_code == 200
    before = _versions(base)
    assert {k: v for k, v in before.items() if k[0] in (first, second)} == dict(
        zip([(first, 1), (first, 2), (second, 1)], schemas, strict=True)
    )

    registry = SchemaRegistry(DevstackConfig.from_env())
    assert registry.kill() if how == "kill -9" else registry.stop(), "the registry was not running"
    registry.start()  # no `up`: nothing re-registers or re-configures anything

    assert _versions(base) == before
    for schema_id, schema in schemas.items():
        stored = requests.get(f"{base}/schemas/ids/{schema_id}", timeout=10).json()
        assert json.loads(stored["schema"]) == json.loads(schema)
    assert requests.get(f"{base}/config/{second}", timeout=10).json() == {"compatibilityLevel": "FORWARD"}
    assert requests.get(f"{base}/config", timeout=10).json() == {"compatibilityLevel": "BACKWARD"}

    fresh = naming.schema_subject(unique_topic("devstack-durable-fresh"))
    assert _register(base, fresh, _schema(fresh)) > max(before.values())  # content never seen: a new id


def test_a_registration_answered_just_before_a_kill_is_kept(devstack: Callable[..., Any]) -> None:
    """H2 batches commits into its file for half a second by default; devstack's registry writes each one first."""
    base = devstack("registry")["schema_registry_url"]
    subjects = [naming.schema_subject(unique_topic(f"devstack-durable-last-{i}")) for i in range(3)]
    ids = {subject: _register(base, subject, _schema(subject)) for subject in subjects}
    registry = SchemaRegistry(DevstackConfig.from_env())
    assert registry.kill(), "the registry was not running"
    registry.start()
    assert {s: v for (s, version), v in _versions(base).items() if s in ids} == ids
