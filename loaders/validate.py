"""The one check every record passes before any sink sees it: its dataset's JSON Schema (schemas/), compiled
once with fastjsonschema (a few µs a record; the jsonschema library, ~250 µs, runs only for a record that
failed, to name the field), and its key fields present. Used by the load loop for every target and by the
Kafka producer, so MongoDB, Firestore, DynamoDB and Kafka refuse the same records for the same reasons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from schemas import DatasetSchema


@dataclass(frozen=True)
class Violation:
    """Why a record was refused: `field` names the offending field (None when it is the record as a whole)."""

    field: str | None
    reason: str

    def __str__(self) -> str:
        return f"field {self.field!r}: {self.reason}" if self.field else self.reason


def first_violation(schema: DatasetSchema, record: Any) -> Violation:
    """The first JSON Schema violation of `record`, field named (slow: only for records known to be invalid)."""
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(schema.json_schema()).iter_errors(record), key=lambda e: list(e.path))
    if not errors:
        return Violation(None, "rejected by the schema")
    error = errors[0]
    field = str(error.path[0]) if error.path else None
    if field is None and error.validator in ("required", "additionalProperties") and "'" in error.message:
        field = str(error.message).split("'")[1]  # "'id' is a required property", "... ('extra' was unexpected)"
    return Violation(field, error.message)


@cache
def _compiled(schema_json: str) -> Callable[[Any], Any]:
    import json

    import fastjsonschema

    return fastjsonschema.compile(json.loads(schema_json))  # type: ignore[no-any-return]


class RecordValidator:
    """`check(record)`: None when the record fits its schema and has its key, else the Violation."""

    def __init__(self, schema: DatasetSchema) -> None:
        import json

        self.schema = schema
        self._validate = _compiled(json.dumps(schema.json_schema(), sort_keys=True))

    def check(self, record: Any) -> Violation | None:
        from fastjsonschema import JsonSchemaValueException

        if not isinstance(record, dict):
            return Violation(None, f"not a JSON object but {type(record).__name__}")
        try:
            self._validate(record)
        except JsonSchemaValueException:
            return first_violation(self.schema, record)
        missing = [k for k in self.schema.key if record.get(k) is None]
        if missing:  # a schema that does not require (or allows null for) its key fields still needs them here
            return Violation(missing[0], f"key field {missing[0]!r} missing or null")
        return None

    def key_of(self, record: Any) -> str | None:
        """The record's id (Mongo `_id`, Firestore document id, Kafka key) if it has its key fields."""
        if isinstance(record, dict) and all(record.get(k) is not None for k in self.schema.key):
            return self.schema.document_id(record)
        return None
