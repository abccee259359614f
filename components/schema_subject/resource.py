"""`SchemaSubject`: the dynamic resource users declare (type `pulumi-python:dynamic/schema-registry:Subject`): a
JSON Schema (from `schemas/`) registered under `<topic>-value`, with the subject's compatibility level."""

from __future__ import annotations

from typing import NotRequired, Required, TypedDict

import pulumi
from pulumi.dynamic import Resource

from components.schema_subject.provider import SubjectProvider
from schemas import registry_text


class SubjectArgs(TypedDict):
    registry_url: Required[pulumi.Input[str]]
    subject: Required[pulumi.Input[str]]
    schema: Required[pulumi.Input[str]]
    schema_type: NotRequired[pulumi.Input[str]]
    compatibility: NotRequired[pulumi.Input[str]]


class SchemaSubject(Resource, module="schema-registry", name="Subject"):
    subject: pulumi.Output[str]
    schema_id: pulumi.Output[int]
    version: pulumi.Output[int]

    def __init__(self, resource_name: str, args: SubjectArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        props = {
            "registry_url": args["registry_url"],
            "subject": args["subject"],
            "schema": args["schema"],
            "schema_type": args.get("schema_type", "JSON"),
            "compatibility": args.get("compatibility", "BACKWARD"),
            "schema_id": None,
            "version": None,
        }
        super().__init__(SubjectProvider(), resource_name, props, opts)


#: the canonical text the loads' serializer registers too (schemas.registry_text): one version per schema
schema_text = registry_text
