"""The Confluent Schema Registry REST calls the subject provider makes (plain `requests`), and what Apicurio, the
registry devstack runs, needs beside them through its own API: a soft-deleted subject's versions are DISABLED
there, not gone, and are enabled again rather than registered anew (their ids stay).

Every error is one line naming the subject, the method and URL, and the registry's own message; a 409 (an
incompatible schema) names what was incompatible where the registry says it.
"""

from __future__ import annotations

import re
from typing import Any

import requests

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
TIMEOUT_S = 10.0


class RegistryError(RuntimeError):
    pass


def error_text(response: requests.Response) -> str:
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


def call(
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
            f"earlier versions ({incompatibility(error_text(response))}); make the change compatible, or change "
            f"the subject's compatibility"
        )
    if response.status_code >= 400:
        what = f"schema subject {subject}: " if subject else ""
        raise RegistryError(f"{what}{method} {url}: HTTP {response.status_code}: {error_text(response)}")
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
    meta = call("GET", f"{native}/groups/default/artifacts/{subject}/versions/{version}/meta", subject=subject)
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
    for version in call("GET", f"{base}/subjects/{subject}/versions?deleted=true", subject=subject) or []:
        url = f"{native}/groups/default/artifacts/{subject}/versions/{version}/state"
        call("PUT", url, {"state": "ENABLED"}, subject=subject, content_type="application/json")


def retire_newer_versions(base: str, subject: str, body: dict[str, Any]) -> Any:
    """Make our schema the subject's latest version again, when it is an older one (a registry answers a
    schema it holds with its id, and adds no version): soft-delete the versions after it, registered behind
    the stack's back. A soft-deleted version's id still resolves, so records written with it stay readable.
    Returns the latest version."""
    ours = call("POST", f"{base}/subjects/{subject}", body, subject=subject)  # which version is our schema
    for version in call("GET", f"{base}/subjects/{subject}/versions", subject=subject) or []:
        if int(version) > int(ours["version"]):
            # 400: Apicurio's answer for a version soft-deleted already (it still lists those)
            call("DELETE", f"{base}/subjects/{subject}/versions/{version}", subject=subject, allow=(400, 404))
    return call("GET", f"{base}/subjects/{subject}/versions/latest", subject=subject)
