"""The one check every record passes before any sink sees it: its dataset's JSON Schema (schemas/), compiled
once with fastjsonschema (a few µs a record; the jsonschema library, ~250 µs, runs only for a record that
failed, to name the field), and its key fields present. `accepted(line)` comes first on a source line: msgspec
decodes it into a struct the schema's keywords were translated to (types, bounds, required and allowed fields),
~1 µs where fastjsonschema took ~7 µs (a fifth of a Kafka load's time in a py-spy profile). It accepts only
what the schema accepts; a line it does not accept (or a schema with another keyword) takes the full check.
Used by the load loop for every target and by the Kafka producer, so MongoDB, Firestore, DynamoDB and Kafka
refuse the same records for the same reasons."""

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


#: msgspec's type for each JSON Schema type name; msgspec's int refuses floats and bools, as "integer" refuses bools
_MSGSPEC_TYPES: dict[str, Any] = {"integer": int, "number": float, "string": str, "boolean": bool, "null": None,
                                  "object": dict, "array": list}  # fmt: skip
_TRANSLATED_ROOT = {"$schema", "$id", "title", "description", "type", "required", "properties", "additionalProperties"}
_TRANSLATED_FIELD = {"type", "minimum", "maximum", "description", "title"}


def _field_type(spec: dict[str, Any]) -> Any:
    """msgspec's type for one property, bounds included; None when the property uses another keyword."""
    from typing import Annotated, Union

    import msgspec

    names = spec.get("type")
    if any(k not in _TRANSLATED_FIELD and not k.startswith("x-") for k in spec) or names is None:
        return None
    bounds = {bound: spec[word] for bound, word in (("ge", "minimum"), ("le", "maximum")) if word in spec}
    members: list[Any] = []
    for name in [names] if isinstance(names, str) else names:
        # a number is int or float: msgspec's float alone would turn 12 into 12.0
        for base in (int, float) if name == "number" else (_MSGSPEC_TYPES[name],):
            numeric = base in (int, float)
            members.append(Annotated[base, msgspec.Meta(**bounds)] if bounds and numeric else base)
    return Union[tuple(members)] if len(members) > 1 else members[0]  # noqa: UP007


@cache
def _struct_decoder(schema_json: str) -> Any:
    """A msgspec decoder of the schema as a struct, or None when the schema uses a keyword not translated."""
    import json

    import msgspec

    schema = json.loads(schema_json)
    extra = schema.get("additionalProperties", True)
    if any(k not in _TRANSLATED_ROOT and not k.startswith("x-") for k in schema) or schema.get("type") != "object":
        return None
    if extra not in (True, False):
        return None
    required = set(schema.get("required", ()))
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for name, spec in schema.get("properties", {}).items():
        kind = _field_type(spec)
        if kind is None:
            return None
        fields.append((name, kind) if name in required else (name, kind | msgspec.UnsetType, msgspec.UNSET))
    if not required <= set(schema.get("properties", {})):
        return None
    fields.sort(key=lambda f: len(f) == 3)  # msgspec wants fields with defaults last
    struct = msgspec.defstruct("Accepted", fields, forbid_unknown_fields=not extra)
    return msgspec.json.Decoder(struct)


@cache
def _compiled(schema_json: str) -> Callable[[Any], Any]:
    import json

    import fastjsonschema

    return fastjsonschema.compile(json.loads(schema_json))  # type: ignore[no-any-return]


@cache
def _plain_decoder() -> Any:
    import msgspec

    return msgspec.json.Decoder()


class RecordValidator:
    """`check(record)`: None when the record fits its schema and has its key, else the Violation."""

    def __init__(self, schema: DatasetSchema) -> None:
        import json

        self.schema = schema
        self._validate = _compiled(json.dumps(schema.json_schema(), sort_keys=True))
        self._struct = _struct_decoder(json.dumps(schema.json_schema(), sort_keys=True))
        self._plain = _plain_decoder()

    def accepted(self, line: bytes) -> Any:
        """The record on `line` when it is certainly valid (the schema's struct decodes it and its key fields
        are set), else None: then parse it and `check` it, which decides and names the field."""
        import msgspec

        if self._struct is None:
            return None
        try:
            self._struct.decode(line)
        except msgspec.MsgspecError:
            return None
        record = self._plain.decode(line)
        return record if all(record.get(k) is not None for k in self.schema.key) else None

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
