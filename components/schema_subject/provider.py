"""`SubjectProvider`: check, diff, register, refresh and delete of one schema subject.

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
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from components.schema_subject.client import call, is_disabled, restore_soft_deleted, retire_newer_versions

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
INPUTS = ("registry_url", "subject", "schema", "schema_type", "compatibility")


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


class SubjectProvider(ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, subject_failures(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return subject_diff(olds, news)

    def _apply(self, props: dict[str, Any]) -> dict[str, Any]:
        base, subject = props["registry_url"].rstrip("/"), props["subject"]
        call("PUT", f"{base}/config/{subject}", {"compatibility": props["compatibility"]}, subject=subject)
        body = {"schema": props["schema"], "schemaType": props.get("schema_type", "JSON")}
        registered = call("POST", f"{base}/subjects/{subject}/versions", body, subject=subject)
        latest = call("GET", f"{base}/subjects/{subject}/versions/latest", allow_404=True, subject=subject)
        if latest is None or is_disabled(base, subject, latest["version"]):  # soft-deleted behind the stack's back
            restore_soft_deleted(base, subject)
            latest = call("GET", f"{base}/subjects/{subject}/versions/latest", subject=subject)
        if not same_schema(latest["schema"], props["schema"]):
            latest = retire_newer_versions(base, subject, body)
        return {**props, "schema_id": registered["id"], "version": latest["version"]}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=props["subject"], outs=self._apply(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._apply(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        base = props["registry_url"].rstrip("/")
        latest = call("GET", f"{base}/subjects/{id_}/versions/latest", allow_404=True, subject=id_)
        if latest is None or is_disabled(base, id_, latest["version"]):
            return ReadResult(None, {})
        config = call("GET", f"{base}/config/{id_}", allow_404=True, subject=id_)
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
        call("DELETE", f"{base}/subjects/{id_}", allow_404=True, subject=id_, allow=(400,))
        call("DELETE", f"{base}/subjects/{id_}?permanent=true", allow_404=True, subject=id_)
