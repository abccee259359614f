"""Schema registry (devstack's Apicurio, Confluent-compatible API): what our clients rely on, against the real server.

Errors are matched on the Confluent API's HTTP statuses and error codes, not on the message text (Apicurio words
its messages differently from Confluent's registry)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from _streaming_records import cards_schema_str, unique_topic

from contract import naming

pytestmark = pytest.mark.devstack

CONTENT_TYPE = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


def object_schema(properties: dict[str, str], closed: bool = True) -> str:
    """A JSON Schema of an object with these property types (closed: no other properties)."""
    schema: dict[str, Any] = {"type": "object", "properties": {k: {"type": t} for k, t in properties.items()}}
    if closed:
        schema["additionalProperties"] = False
    return json.dumps(schema)


def new_subject(prefix: str) -> str:
    return naming.schema_subject(unique_topic(prefix))


@pytest.fixture
def registry(devstack: Any) -> Any:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    url = devstack("registry")["schema_registry_url"]
    return SchemaRegistryClient({"url": url})


def test_outputs_point_at_the_confluent_compatible_api(devstack: Any) -> None:
    url = devstack("registry")["schema_registry_url"]
    assert url.endswith("/apis/ccompat/v7")
    assert requests.get(f"{url}/config", timeout=10).json() == {"compatibilityLevel": "BACKWARD"}


def test_register_json_schema_and_read_it_back_by_id(devstack: Any, registry: Any) -> None:
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

    subject = new_subject("devstack-registry-test")
    schema_str = cards_schema_str()

    schema_id = registry.register_schema(subject, Schema(schema_str, "JSON"))
    assert isinstance(schema_id, int) and schema_id > 0

    uncached = SchemaRegistryClient({"url": devstack("registry")["schema_registry_url"]})
    fetched = uncached.get_schema(schema_id)
    assert fetched.schema_type == "JSON"
    assert fetched.schema_str is not None
    assert json.loads(fetched.schema_str) == json.loads(schema_str)

    latest = registry.get_latest_version(subject)
    assert (latest.schema_id, latest.version, latest.subject) == (schema_id, 1, subject)
    assert registry.get_versions(subject) == [1]
    assert registry.get_version(subject, 1).schema_id == schema_id

    # registering the same schema again is idempotent; a compatible change (an optional property, the object
    # opened) becomes version 2 with a new id under the default BACKWARD
    assert registry.register_schema(subject, Schema(schema_str, "JSON")) == schema_id
    changed = json.loads(schema_str)
    changed["properties"]["nickname"] = {"type": "string"}
    changed.pop("additionalProperties", None)
    new_id = registry.register_schema(subject, Schema(json.dumps(changed), "JSON"))
    assert new_id != schema_id
    assert registry.get_versions(subject) == [1, 2]


@pytest.mark.parametrize(
    ("what", "status", "code"),
    [("subject", 404, 40401), ("version", 404, 40402), ("schema", 404, 40403)],
)
def test_unknown_things_are_404s_with_confluents_codes(registry: Any, what: str, status: int, code: int) -> None:
    from confluent_kafka.schema_registry import Schema
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    subject = new_subject("devstack-registry-404")
    if what == "version":
        registry.register_schema(subject, Schema(object_schema({"a": "string"}), "JSON"))
    lookups = {
        "subject": lambda: registry.get_versions(subject),
        "version": lambda: registry.get_version(subject, 7),
        "schema": lambda: registry.get_schema(987654),
    }
    with pytest.raises(SchemaRegistryError) as err:
        lookups[what]()
    assert (err.value.http_status_code, err.value.error_code) == (status, code)


def test_an_invalid_schema_is_a_422(registry: Any) -> None:
    from confluent_kafka.schema_registry import Schema
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    with pytest.raises(SchemaRegistryError) as err:
        registry.register_schema(new_subject("devstack-registry-422"), Schema('{"type": "object"', "JSON"))
    assert err.value.http_status_code == 422


def test_an_incompatible_evolution_is_refused_by_default(registry: Any) -> None:
    from confluent_kafka.schema_registry import Schema
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    subject = new_subject("devstack-registry-409")
    registry.register_schema(subject, Schema(object_schema({"a": "string"}), "JSON"))
    with pytest.raises(SchemaRegistryError) as err:  # a field changes type: old records no longer fit
        registry.register_schema(subject, Schema(object_schema({"a": "integer"}), "JSON"))
    assert err.value.http_status_code == 409
    assert registry.get_versions(subject) == [1]
    # a compatible one (a new optional property of a closed object) is accepted
    registry.register_schema(subject, Schema(object_schema({"a": "string", "b": "string"}), "JSON"))
    assert registry.get_versions(subject) == [1, 2]


def test_compatibility_is_set_per_subject(registry: Any) -> None:
    """A closed object losing a property: old records no longer fit (BACKWARD refuses), the new ones still fit the
    old schema (FORWARD accepts). NONE is not tested: Apicurio 2.4.2 takes a subject's NONE as "no subject rule",
    so the global BACKWARD applies to it."""
    from confluent_kafka.schema_registry import Schema
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    backward, forward = new_subject("devstack-registry-backward"), new_subject("devstack-registry-forward")
    for subject in (backward, forward):
        registry.register_schema(subject, Schema(object_schema({"a": "string", "b": "string"}), "JSON"))
    registry.set_compatibility(forward, "FORWARD")
    assert registry.get_compatibility(forward) == "FORWARD"

    narrowed = Schema(object_schema({"a": "string"}), "JSON")
    with pytest.raises(SchemaRegistryError) as err:
        registry.register_schema(backward, narrowed)
    assert err.value.http_status_code == 409
    registry.register_schema(forward, narrowed)
    assert registry.get_versions(forward) == [1, 2]
    assert registry.get_compatibility() == "BACKWARD"  # the global default is untouched


def test_subject_delete_is_soft_then_permanent(registry: Any, devstack: Any) -> None:
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    base = devstack("registry")["schema_registry_url"]
    subject = new_subject("devstack-registry-delete")
    resp = requests.post(
        f"{base}/subjects/{subject}/versions",
        json={"schema": cards_schema_str(), "schemaType": "JSON"},
        headers=CONTENT_TYPE,
        timeout=10,
    )
    assert resp.status_code == 200 and "id" in resp.json()
    assert registry.delete_subject(subject) == [1]
    assert subject not in registry.get_subjects()
    assert registry.delete_subject(subject, permanent=True) == [1]
    with pytest.raises(SchemaRegistryError) as err:
        registry.get_versions(subject)
    assert (err.value.http_status_code, err.value.error_code) == (404, 40401)


def test_concurrent_registrations_all_succeed(devstack: Any) -> None:
    """`pulumi up` registers every subject at once: Apicurio's H2 storage failed such writes (lock
    timeouts, duplicate keys) until devstack gave it one worker thread."""
    from concurrent.futures import ThreadPoolExecutor

    base = devstack("registry")["schema_registry_url"]

    def register(i: int) -> int:
        subject = new_subject(f"devstack-registry-concurrent-{i}")
        body = {"schema": object_schema({f"field{i}": "string"}), "schemaType": "JSON"}
        url = f"{base}/subjects/{subject}/versions"
        return requests.post(url, json=body, headers=CONTENT_TYPE, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(register, range(16))) == [200] * 16


def test_subject_resource_on_the_real_registry(devstack: Any) -> None:
    """components.schema_subject's provider: create, drift read back, a refused change in one line, delete."""
    from components.schema_subject import RegistryError, SubjectProvider

    base = devstack("registry")["schema_registry_url"]
    subject = new_subject("devstack-registry-resource")
    props = {
        "registry_url": base,
        "subject": subject,
        "schema": object_schema({"a": "string", "b": "string"}),
        "schema_type": "JSON",
        "compatibility": "BACKWARD",
    }
    provider = SubjectProvider()
    created = provider.create(props)
    assert created.id == subject and created.outs is not None and created.outs["version"] == 1
    outs: dict[str, Any] = created.outs

    # drift: someone changes the subject's compatibility behind the stack's back; refresh sees it
    requests.put(f"{base}/config/{subject}", json={"compatibility": "FULL"}, headers=CONTENT_TYPE, timeout=10)
    read = provider.read(subject, outs)
    assert read.outs is not None and read.outs["compatibility"] == "FULL"
    assert json.loads(read.outs["schema"]) == json.loads(props["schema"])

    incompatible = {**props, "schema": object_schema({"a": "integer", "b": "string"})}
    with pytest.raises(RegistryError) as err:
        provider.update(subject, outs, incompatible)
    message = str(err.value)
    assert "\n" not in message and subject in message and "/properties/a" in message

    # the resource's compatibility input is applied before the schema: FORWARD lets a removed property through
    narrowed = {**props, "schema": object_schema({"a": "string"}), "compatibility": "FORWARD"}
    updated = provider.update(subject, outs, narrowed)
    assert updated.outs is not None and updated.outs["version"] == 2
    assert provider.read(subject, updated.outs).outs["compatibility"] == "FORWARD"  # type: ignore[index]

    provider.delete(subject, updated.outs)
    assert provider.read(subject, updated.outs).id is None


def test_the_loaders_producer_refused_by_the_registry_is_one_line(devstack: Any) -> None:
    """Auto-registration of the dataset's schema meets an incompatible subject: LoadError naming the subject."""
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

    from loaders.sinks.base import LoadError
    from loaders.sinks.kafka import SchemaRegistryJsonProducer
    from schemas import load as load_schema

    outputs = devstack("kafka", "registry")
    topic = unique_topic("devstack-registry-producer")
    subject = naming.schema_subject(topic)
    client = SchemaRegistryClient({"url": outputs["schema_registry_url"]})
    client.register_schema(subject, Schema(object_schema({"id": "string"}), "JSON"))  # cards' id is an integer

    with pytest.raises(LoadError) as err:  # before anything is sent
        SchemaRegistryJsonProducer(
            outputs["kafka_bootstrap_servers"], outputs["schema_registry_url"], topic, load_schema("cards")
        )
    message = str(err.value)
    assert "\n" not in message and subject in message
