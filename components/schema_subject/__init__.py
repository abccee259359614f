"""Schema Registry subject as a Pulumi dynamic resource (client -> provider -> resource, as components/connect/).

`SubjectProvider` is importable from here on purpose: a Pulumi state written before this package existed names
its provider `components.schema_subject.SubjectProvider` (dynamic providers are pickled by reference to their
module), and refresh and delete unpickle that one.
"""

from components.schema_subject.client import RegistryError, apicurio_api, incompatibility
from components.schema_subject.provider import (
    COMPATIBILITY_LEVELS,
    SCHEMA_TYPES,
    SubjectProvider,
    live_compatibility,
    same_schema,
    subject_diff,
    subject_failures,
)
from components.schema_subject.resource import SchemaSubject, SubjectArgs, schema_text

__all__ = [
    "COMPATIBILITY_LEVELS",
    "SCHEMA_TYPES",
    "RegistryError",
    "SchemaSubject",
    "SubjectArgs",
    "SubjectProvider",
    "apicurio_api",
    "incompatibility",
    "live_compatibility",
    "same_schema",
    "schema_text",
    "subject_diff",
    "subject_failures",
]
