"""The one check every record passes before any sink sees it: its dataset's JSON Schema (schemas/), compiled
once with fastjsonschema (the much slower jsonschema library runs only for a record that failed, to name the
field), and its key fields present. `accepted(line)` comes first on a source line: msgspec decodes it into a
struct the schema's keywords were translated to (types, bounds, required and allowed fields), faster than
fastjsonschema (which was a large share of a Kafka load's time in a py-spy profile). It accepts only
what the schema accepts; a line it does not accept (or a schema with another keyword) takes the full check.
Used by the load loop for every target and by the Kafka producer, so MongoDB, Firestore, DynamoDB and Kafka
refuse the same records for the same reasons."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from schemas import DatasetSchema

#: a block of source lines as `RecordValidator.accepted_block` found it: the ids (UTF-8) and JSON (each line
#: without its line break) of the records certainly valid, the lines left to the full check as (line number,
#: how many accepted records come before it, bytes), and how many lines it went through
AcceptedBlock = tuple[list[bytes], list[bytes], list[tuple[int, int, bytes]], int]


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


#: what every sink's client can store of an integer (BSON, orjson, DynamoDB's numbers, Kafka Connect's int64): a
#: line with a larger one takes the full check, which names it when its sink refuses it
_INT64 = (-(2**63), 2**63 - 1)
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
    int_bounds = {"ge": max(bounds.get("ge", _INT64[0]), _INT64[0]), "le": min(bounds.get("le", _INT64[1]), _INT64[1])}
    members: list[Any] = []
    for name in [names] if isinstance(names, str) else names:
        # a number is int or float: msgspec's float alone would turn 12 into 12.0
        for base in (int, float) if name == "number" else (_MSGSPEC_TYPES[name],):
            if base is int:
                members.append(Annotated[int, msgspec.Meta(**int_bounds)])
            else:
                members.append(Annotated[base, msgspec.Meta(**bounds)] if bounds and base is float else base)
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
def _line_checker(schema_json: str, key: tuple[str, ...]) -> Any:
    """The kernel's check of source lines against the schema's struct (loaders/kernel/src/lines.rs), or None:
    a schema the struct does not translate, one the kernel does not take, or no kernel built."""
    import json

    if _struct_decoder(schema_json) is None:
        return None
    try:
        from kde_convert_kernel import LineChecker
    except ImportError:
        return None
    schema = json.loads(schema_json)
    required = set(schema.get("required", ()))
    fields = [
        (name, [types] if isinstance(types, str) else list(types), name in required, spec.get("minimum"),
         spec.get("maximum"))
        for name, spec in schema.get("properties", {}).items()
        for types in [spec["type"]]
    ]  # fmt: skip
    try:
        return LineChecker(fields, list(key))
    except ValueError:  # e.g. an object or array property: every line takes the Python path
        return None


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
        schema_json = json.dumps(schema.json_schema(), sort_keys=True)  # the compiled checks' cache key
        self._validate = _compiled(schema_json)
        self._struct = _struct_decoder(schema_json)
        self._plain = _plain_decoder()
        self._key_values = operator.attrgetter(*schema.key)
        self._lines = _line_checker(schema_json, tuple(schema.key))

    def accepted(self, line: bytes) -> Any:
        """The record on `line` when it is certainly valid (the schema's struct decodes it and its key fields
        are set), else None: then parse it and `check` it, which decides and names the field."""
        return None if self.accepted_key(line) is None else self._plain.decode(line)

    def accepted_key(self, line: bytes) -> str | None:
        """The id of the record on `line` when it is certainly valid, else None (as `accepted`), without
        building the record (`accepted_block`'s path when the kernel is not built)."""
        import msgspec

        if self._struct is None:
            return None
        try:
            struct = self._struct.decode(line)
        except msgspec.MsgspecError:
            return None
        values = self._key_values(struct)
        if not isinstance(values, tuple):
            values = (values,)
        if any(v is None or v is msgspec.UNSET for v in values):
            return None
        return self.schema.key_id(values)

    def accepted_block(self, block: bytes, first_line: int, limit: int, prefix: bytes = b"") -> AcceptedBlock:
        """`accepted_key` for up to `limit` lines of a block of whole lines (the first is line `first_line` of
        its file; lines of whitespace skipped), each accepted record's JSON (from its `{`) after `prefix` (what a
        sink puts before it), by the compiled kernel when it is built: a Python call per line was most of a Kafka
        load's own time once the broker kept pace."""
        if self._lines is not None:
            return self._lines.check(block, first_line, limit, prefix)  # type: ignore[no-any-return]
        ids: list[bytes] = []
        bodies: list[bytes] = []
        left: list[tuple[int, int, bytes]] = []
        parts = block.split(b"\n")  # line breaks as the kernel and the file's own lines have them: \n only
        lines = [*(part + b"\n" for part in parts[:-1]), *([parts[-1]] if parts[-1] else [])][:limit]
        for number, line in enumerate(lines, start=first_line):
            if line.strip():
                key = self.accepted_key(line)
                if key is None:
                    left.append((number, len(ids), line))
                else:
                    ids.append(key.encode())
                    bodies.append(prefix + line.rstrip(b"\r\n").lstrip(b" \t\r"))  # from its `{`, as the kernel's
        return ids, bodies, left, len(lines)

    def encodes_documents(self, id_field: str) -> bool:
        """Whether `accepted_documents` can write this schema's documents (the kernel is built and `id_field`
        is not one of its properties)."""
        return self._lines is not None and id_field not in self.schema.json_schema().get("properties", {})

    def accepted_documents(self, block: bytes, first_line: int, limit: int, id_field: str) -> AcceptedBlock:
        """`accepted_block` with each accepted record as a BSON document, its id under `id_field` first, then its
        fields as pymongo would encode the parsed line (by the kernel: see `encodes_documents`). Parsing the
        line and encoding its dict were two thirds of a MongoDB load's own CPU."""
        if self._lines is None:
            raise RuntimeError("accepted_documents needs the compiled kernel (loaders/kernel)")
        return self._lines.check_bson(block, first_line, limit, id_field)  # type: ignore[no-any-return]

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
