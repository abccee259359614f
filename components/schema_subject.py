"""Schema Registry subject as a Pulumi dynamic resource: a JSON Schema (from `schemas/`) registered under
`<topic>-value`, with the subject's compatibility level. Plain `requests` against the Confluent REST API.

Inputs: `registry_url`, `subject`, `schema` (JSON text), `schema_type` (JSON), `compatibility`.
A schema change registers a new version (the registry enforces compatibility: an incompatible one fails the
update with one line naming the subject and, where the registry says it, the field); the subject name or the
registry URL replace the resource. `registry_url` is the Confluent-compatible API's base, e.g. devstack's
Apicurio `http://127.0.0.1:15050/apis/ccompat/v7` (there, a subject's NONE means "no subject rule": the global
BACKWARD devstack sets still applies).

Refresh (`read`) reports the latest version's schema (ours while it parses the same) and the subject's own
compatibility level, also as inputs so a preview names what drifted. A subject deleted behind the stack's back
reads as gone, and `up` registers it again; a soft-deleted one gets its old versions, and ids, back. A version
registered behind the stack's back shows as a schema change, and `up` makes the stack's schema the latest again
by soft-deleting the newer versions (their ids still resolve: records written with them stay readable).
"""

from __future__ import annotations

import json
import re
from typing import Any, NotRequired, Required, TypedDict

import pulumi
import requests
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from schemas import registry_text

COMPATIBILITY_LEVELS = (
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
)
SCHEMA_TYPES = ("JSON", "AVRO", "PROTOBUF")
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
TIMEOUT_S = 10.0
INPUTS = ("registry_url", "subject", "schema", "schema_type", "compatibility")


class RegistryError(RuntimeError):
    pass


def subject_failures(news: dict[str, Any]) -> list[CheckFailure]:
    failures = []
    if not news.get("subject"):
        failures.append(CheckFailure("subject", "required, e.g. cards-data-value"))
    url = news.get("registry_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        failures.append(CheckFailure("registry_url", f"{url!r}: expected an http(s) URL"))
    if news.get("compatibility") not in COMPATIBILITY_LEVELS:
        failures.append(
            CheckFailure("compatibility", f"{news.get('compatibility')!r}: one of {', '.join(COMPATIBILITY_LEVELS)}")
        )
    if news.get("schema_type", "JSON") not in SCHEMA_TYPES:
        failures.append(CheckFailure("schema_type", f"{news.get('schema_type')!r}: one of {', '.join(SCHEMA_TYPES)}"))
    try:
        if news.get("schema_type", "JSON") == "JSON" and not isinstance(json.loads(news.get("schema") or ""), dict):
            failures.append(CheckFailure("schema", "a JSON Schema must be a JSON object"))
    except json.JSONDecodeError as exc:
        failures.append(CheckFailure("schema", f"not valid JSON: {exc.msg} at line {exc.lineno}"))
    return failures


def same_schema(old: str | None, new: str | None) -> bool:
    """Schemas compare as parsed JSON, so whitespace and key order are not drift."""
    try:
        return json.loads(old or "null") == json.loads(new or "null")
    except json.JSONDecodeError:
        return old == new


def subject_diff(olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
    replaces = [k for k in ("subject", "registry_url", "schema_type") if olds.get(k) != news.get(k)]
    changed = list(replaces)
    if not same_schema(olds.get("schema"), news.get("schema")):
        changed.append("schema")
    if olds.get("compatibility") != news.get("compatibility"):
        changed.append("compatibility")
    return DiffResult(changes=bool(changed), replaces=replaces, stables=[], delete_before_replace=True)


def live_compatibility(config: dict[str, Any] | None) -> str:
    """A subject's own compatibility level as `GET /config/{subject}` says it. No subject-level setting (404) is
    "NONE", Apicurio's meaning of it (the registry's global rule still applies): a level the stack set and
    someone removed shows as drift."""
    if not config:
        return "NONE"
    return str(config.get("compatibilityLevel") or config.get("compatibility") or "NONE")


def _error_text(response: requests.Response) -> str:
    """The registry's own message (Confluent's API: {"error_code": ..., "message": ...}), on one line."""
    try:
        body = response.json()
        message = str(body.get("message") or body) if isinstance(body, dict) else str(body)
    except ValueError:
        message = response.text
    return " ".join(message.split())[:500]


def incompatibility(message: str) -> str:
    """What was incompatible: Apicurio lists it ("list of diff types: [SUBSCHEMA_TYPE_CHANGED at
    /properties/a]"), naming the field; other registries' messages are passed on as they are."""
    found = re.search(r"list of diff types: \[([^\]]*)\]", message)
    return found.group(1) if found else message


def _call(
    method: str,
    url: str,
    body: Any = None,
    allow_404: bool = False,
    subject: str = "",
    allow: tuple[int, ...] = (),
    content_type: str = CONTENT_TYPE,
) -> Any:
    response = requests.request(method, url, json=body, headers={"Content-Type": content_type}, timeout=TIMEOUT_S)
    if (allow_404 and response.status_code == 404) or response.status_code in allow:
        return None
    if response.status_code == 409 and subject:
        raise RegistryError(
            f"schema subject {subject}: the registry refused the schema as incompatible with the subject's "
            f"earlier versions ({incompatibility(_error_text(response))}); make the change compatible, or change "
            f"the subject's compatibility"
        )
    if response.status_code >= 400:
        what = f"schema subject {subject}: " if subject else ""
        raise RegistryError(f"{what}{method} {url}: HTTP {response.status_code}: {_error_text(response)}")
    return response.json() if response.content else None


def apicurio_api(base: str) -> str | None:
    """Apicurio's own API beside its Confluent-compatible one (`.../apis/ccompat/v7` -> `.../apis/registry/v2`),
    or None for another registry."""
    found = re.fullmatch(r"(.*)/apis/ccompat/v\d+", base)
    return f"{found.group(1)}/apis/registry/v2" if found else None


def is_disabled(base: str, subject: str, version: int) -> bool:
    """Whether a version the registry still answers is soft-deleted: after a DELETE of the subject by hand,
    Apicurio keeps answering `versions/latest` with a disabled version (Confluent's answers 404)."""
    native = apicurio_api(base)
    if native is None:
        return False
    meta = _call("GET", f"{native}/groups/default/artifacts/{subject}/versions/{version}/meta", subject=subject)
    return bool(meta) and meta.get("state") == "DISABLED"


def restore_soft_deleted(base: str, subject: str) -> None:
    """Bring back a soft-deleted subject's versions. Registering its schema again does that on Confluent's
    registry; Apicurio answers with the schema's id but keeps the versions DISABLED, so they are enabled through
    its own API. Either way the ids stay, and records already written with them still resolve (a permanent
    delete and a new registration would give the schema another id)."""
    native = apicurio_api(base)
    if native is None:
        raise RegistryError(
            f"schema subject {subject}: registered, yet the registry lists no version of it (soft-deleted?); "
            f"delete it for good (DELETE {base}/subjects/{subject}?permanent=true) and run up again"
        )
    for version in _call("GET", f"{base}/subjects/{subject}/versions?deleted=true", subject=subject) or []:
        url = f"{native}/groups/default/artifacts/{subject}/versions/{version}/state"
        _call("PUT", url, {"state": "ENABLED"}, subject=subject, content_type="application/json")


def retire_newer_versions(base: str, subject: str, body: dict[str, Any]) -> Any:
    """Make our schema the subject's latest version again, when it is an older one (a registry answers a
    schema it holds with its id, and adds no version): soft-delete the versions after it, registered behind
    the stack's back. A soft-deleted version's id still resolves, so records written with it stay readable.
    Returns the latest version."""
    ours = _call("POST", f"{base}/subjects/{subject}", body, subject=subject)  # which version is our schema
    for version in _call("GET", f"{base}/subjects/{subject}/versions", subject=subject) or []:
        if int(version) > int(ours["version"]):
            # 400: Apicurio's answer for a version soft-deleted already (it still lists those)
            _call("DELETE", f"{base}/subjects/{subject}/versions/{version}", subject=subject, allow=(400, 404))
    return _call("GET", f"{base}/subjects/{subject}/versions/latest", subject=subject)


class SubjectProvider(ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, subject_failures(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return subject_diff(olds, news)

    def _apply(self, props: dict[str, Any]) -> dict[str, Any]:
        base, subject = props["registry_url"].rstrip("/"), props["subject"]
        _call("PUT", f"{base}/config/{subject}", {"compatibility": props["compatibility"]}, subject=subject)
        body = {"schema": props["schema"], "schemaType": props.get("schema_type", "JSON")}
        registered = _call("POST", f"{base}/subjects/{subject}/versions", body, subject=subject)
        latest = _call("GET", f"{base}/subjects/{subject}/versions/latest", allow_404=True, subject=subject)
        if latest is None or is_disabled(base, subject, latest["version"]):  # soft-deleted behind the stack's back
            restore_soft_deleted(base, subject)
            latest = _call("GET", f"{base}/subjects/{subject}/versions/latest", subject=subject)
        if not same_schema(latest["schema"], props["schema"]):
            latest = retire_newer_versions(base, subject, body)
        return {**props, "schema_id": registered["id"], "version": latest["version"]}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=props["subject"], outs=self._apply(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._apply(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        base = props["registry_url"].rstrip("/")
        latest = _call("GET", f"{base}/subjects/{id_}/versions/latest", allow_404=True, subject=id_)
        if latest is None or is_disabled(base, id_, latest["version"]):
            return ReadResult(None, {})
        config = _call("GET", f"{base}/config/{id_}", allow_404=True, subject=id_)
        live = {
            "subject": id_,
            # ours while the registry holds the same schema (it may re-format it): only a real change is drift
            "schema": props.get("schema") if same_schema(props.get("schema"), latest["schema"]) else latest["schema"],
            "schema_type": latest.get("schemaType", "AVRO"),
            "compatibility": live_compatibility(config),
        }
        outs = {**props, **live, "schema_id": latest["id"], "version": latest["version"]}
        # the live values as inputs too, so a preview's diff names what drifted; ids and versions are no inputs
        inputs = {**{k: props.get(k) for k in INPUTS}, **live, "schema_id": None, "version": None}
        return ReadResult(id_, outs, inputs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        base = props["registry_url"].rstrip("/")
        # 400: Apicurio's answer for a subject soft-deleted already (behind the stack's back)
        _call("DELETE", f"{base}/subjects/{id_}", allow_404=True, subject=id_, allow=(400,))
        _call("DELETE", f"{base}/subjects/{id_}?permanent=true", allow_404=True, subject=id_)


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
