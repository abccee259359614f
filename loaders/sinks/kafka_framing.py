"""A Kafka value's bytes under a registered JSON Schema: confluent-kafka's JSONSerializer (subject
`<topic>-value`) frames the first record of a run (registering the schema, or refusing it); every later value
is that frame (magic byte + schema id) and the record's JSON, without the serializer's per-call subject, rule
and buffer handling. A record given as a dict is encoded by orjson, the bytes the
serializer writes; one given as a source line the validator found certainly valid is sent as the line wrote it."""

from __future__ import annotations

from typing import Any

import orjson

from contract import naming
from loaders.sinks.base import LoadError, unreachable
from schemas import DatasetSchema

#: seconds a request to the registry may take before it counts as unreachable
REGISTRY_TIMEOUT_S = 10


class RecordRejected(ValueError):
    """The record does not fit its JSON Schema; it was not sent. `field` names the offending field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RegistryFraming:
    """The topic's values: the schema registered under `<topic>-value` when opened (a registry that is down or
    refuses the schema stops the load before anything is sent), then each record's bytes."""

    def __init__(self, url: str, topic: str, schema: DatasetSchema) -> None:
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.json_schema import JSONSerializer

        self.topic, self.schema = topic, schema
        # a client per load, not per process: one that outlived a registry's restart would frame records with
        # the schema ids it cached from the registry before
        conf: dict[str, Any] = {"url": url, "timeout": REGISTRY_TIMEOUT_S}
        if all(u.strip().startswith("http://") for u in url.split(",")):
            conf["ssl.ca.location"] = False  # plain HTTP: no TLS context, whose CA bundle is slow to load
        self.registry = SchemaRegistryClient(conf)
        options = {"auto.register.schemas": True, "validate": False}
        self.serializer = JSONSerializer(schema.registry_text(), self.registry, conf=options)
        try:
            # the subject's registration now (serializing an empty object: validation is off), so the first
            # record waits for no round trip
            empty = self.serialize({})
        except (LoadError, RecordRejected):
            raise
        except Exception as exc:  # httpx or registry errors: the registry cannot be used
            raise unreachable("schema registry", url, exc) from None
        # what it put before the empty object's JSON frames every record (the schema is ours, with no rules
        # that could transform one); a serializer that changed the object keeps being called
        #: magic byte + schema id the serializer puts before a record's JSON (b"": it transforms records)
        self.frame = empty[:-2] if empty.endswith(b"{}") else b""

    def value(self, record: dict[str, Any]) -> bytes:
        return self.encode(record) if self.frame else self.serialize(record)

    def value_of_json(self, body: bytes) -> bytes:
        """The value of a record's JSON as the source line wrote it (valid against the schema)."""
        return self.frame + body if self.frame else self.serialize(orjson.loads(body))

    def encode(self, record: dict[str, Any]) -> bytes:
        try:
            return self.frame + orjson.dumps(record)
        except orjson.JSONEncodeError as exc:  # e.g. an integer beyond 64 bits: orjson is the serializer's encoder
            raise RecordRejected(f"{self.schema.title}: not encodable as JSON ({exc})", None) from None

    def serialize(self, record: dict[str, Any]) -> bytes:
        """The serializer's bytes for `record`, registering the schema on its first call (or finding it refused:
        a LoadError naming the subject)."""
        from confluent_kafka.schema_registry.error import SchemaRegistryError
        from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

        try:
            value: bytes = self.serializer(record, SerializationContext(self.topic, MessageField.VALUE))
        except SerializationError as exc:
            raise RecordRejected(f"{self.schema.title}: {exc}", None) from exc
        except SchemaRegistryError as exc:  # auto-registration refused: no record of this topic can be sent
            if exc.http_status_code != 409:
                raise
            detail = " ".join(str(exc.error_message).split())[:300]
            raise LoadError(
                f"schema registry: subject {naming.schema_subject(self.topic)} refused the dataset's schema as "
                f"incompatible with its registered versions ({detail}); the stack owns the subject: make up"
            ) from None
        return value

    def record_of(self, value: bytes) -> dict[str, Any]:
        """The record a value was made of, to name it in the quarantine."""
        frame = len(self.frame) or 5  # the serializer's magic byte and schema id
        try:
            record = orjson.loads(value[frame:])
        except orjson.JSONDecodeError:
            return {"value": value.decode(errors="replace")}
        return record if isinstance(record, dict) else {"value": record}
