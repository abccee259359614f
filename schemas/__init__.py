"""The dataset schemas: the single source of truth for fields, types, keys and CSV parsing.

Every other part of the product (converter casts, DynamoDB keys, Firestore document ids, Mongo `_id`,
Kafka subject schemas, dlt primary keys) derives what it needs from the JSON files beside this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parent

#: Dataset ids in a stable order; each has `<id>.json` beside this module.
DATASETS: tuple[str, ...] = ("cards", "users", "transactions", "mcc_codes", "fraud_labels")


class UnknownDatasetError(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")


@dataclass(frozen=True)
class Field:
    name: str
    json_type: str  # "integer" | "number" | "string" | "boolean"
    nullable: bool
    parse: str  # how the raw text is parsed: int, float, string, money, yes_no, month_year, datetime, zip
    required: bool


@dataclass(frozen=True)
class DynamoDbKey:
    attribute: str
    role: str  # "HASH" | "RANGE"
    type: str  # DynamoDB attribute type: "S" | "N"


_DYNAMODB_TYPES = {"integer": "N", "number": "N", "string": "S"}


@dataclass(frozen=True)
class DatasetSchema:
    dataset: str
    title: str  # the seed's hyphenated name, e.g. "cards-data": topic, table and collection suffix
    source_file: str
    source_format: str  # "csv" | "json_map"
    key: tuple[str, ...]
    sort_key: str | None
    cursor: str | None
    fields: tuple[Field, ...]
    source_options: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.dataset}: no field {name!r}")

    def document_id(self, record: dict[str, Any]) -> str:
        """The record's id as a string: Mongo `_id`, Firestore document id and Kafka key."""
        if len(self.key) == 1:  # called per record on every load: the join was 9% of a Kafka load in py-spy
            return str(record[self.key[0]])
        return self.key_id(tuple(record[k] for k in self.key))

    def key_id(self, values: tuple[Any, ...]) -> str:
        """The id of a record whose key fields hold `values` (in the order of `key`)."""
        return str(values[0]) if len(values) == 1 else "-".join(str(v) for v in values)

    def dynamodb_keys(self) -> tuple[DynamoDbKey, ...]:
        """The hash key (and range key) of the dataset's DynamoDB table: the one derivation every stack and
        devstack use. Only single-field keys of string or number type can be DynamoDB keys."""
        if len(self.key) != 1:
            raise ValueError(f"{self.dataset}: a DynamoDB hash key needs a single-field key, schema has {self.key}")
        keys = [(self.key[0], "HASH")] + ([(self.sort_key, "RANGE")] if self.sort_key else [])
        result = []
        for name, role in keys:
            json_type = self.field(name).json_type
            if json_type not in _DYNAMODB_TYPES:
                raise ValueError(f"{self.dataset}.{name}: type {json_type} cannot be a DynamoDB key (string or number)")
            result.append(DynamoDbKey(name, role, _DYNAMODB_TYPES[json_type]))
        return tuple(result)

    def json_schema(self) -> dict[str, Any]:
        """The schema as plain JSON Schema (project `x-` annotations removed), for registries."""
        return _strip_annotations(self.raw)

    def registry_text(self) -> str:
        """The one text of the schema a registry holds: the subject the stack declares and the serializer a load
        uses register the same string, so a load finds the stack's version instead of adding one."""
        return registry_text(self.json_schema())


def registry_text(json_schema: dict[str, Any]) -> str:
    """Canonical JSON text of a schema (sorted keys, compact): one stable string per schema."""
    return json.dumps(json_schema, sort_keys=True, separators=(",", ":"))


def _strip_annotations(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_annotations(v) for k, v in node.items() if not k.startswith("x-")}
    if isinstance(node, list):
        return [_strip_annotations(v) for v in node]
    return node


_DEFAULT_PARSE = {"integer": "int", "number": "float", "string": "string", "boolean": "yes_no"}


def _field(name: str, spec: dict[str, Any], required: set[str]) -> Field:
    types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    non_null = [t for t in types if t != "null"]
    if len(non_null) != 1:
        raise ValueError(f"field {name!r}: exactly one non-null type expected, got {types}")
    json_type = non_null[0]
    return Field(
        name=name,
        json_type=json_type,
        nullable="null" in types,
        parse=spec.get("x-parse", _DEFAULT_PARSE[json_type]),
        required=name in required,
    )


@cache
def load(dataset: str) -> DatasetSchema:
    """The schema of one dataset; raises UnknownDatasetError naming the known ones."""
    if dataset not in DATASETS:
        raise UnknownDatasetError(dataset)
    path = SCHEMA_DIR / f"{dataset}.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    required = set(raw.get("required", []))
    source = dict(raw["x-source"])
    return DatasetSchema(
        dataset=dataset,
        title=raw["title"],
        source_file=source.pop("file"),
        source_format=source.pop("format"),
        key=tuple(raw["x-key"]),
        sort_key=raw.get("x-sort-key"),
        cursor=raw.get("x-cursor"),
        fields=tuple(_field(n, s, required) for n, s in raw["properties"].items()),
        source_options=source,
        raw=raw,
    )


def all_schemas() -> list[DatasetSchema]:
    return [load(d) for d in DATASETS]
