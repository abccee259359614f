"""The schema registry (Confluent's REST API): every subject with its latest version, schema id and
compatibility (the subject's own level, else the registry's global one, marked so)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from demo.status.section import TIMEOUT_S, first_line, guarded
from demo.status.sources import Sources


def section(src: Sources) -> dict[str, Any]:
    return guarded(
        "registry", lambda: src.endpoint("schema_registry_url", "registry"), lambda where: collect(src, where)
    )


def collect(src: Sources, where: str) -> dict[str, Any]:
    base = where.rstrip("/")
    global_level = _get(f"{base}/config")
    default = (global_level or {}).get("compatibilityLevel")
    rows = []
    for subject in sorted(_get(f"{base}/subjects") or []):
        name = quote(subject, safe="")
        latest = _get(f"{base}/subjects/{name}/versions/latest") or {}
        own = (_get(f"{base}/config/{name}") or {}).get("compatibilityLevel")
        rows.append(
            {
                "subject": subject,
                "version": latest.get("version"),
                "id": latest.get("id"),
                "compatibility": own or default,
                "compatibility_source": "subject" if own else "global",
            }
        )
    return {"url": where, "global_compatibility": default, "subjects": rows}


def _get(url: str) -> Any:
    """The JSON answer, None for 404 (no such subject, or no subject-level config); raises on other errors."""
    response = requests.get(url, timeout=TIMEOUT_S)
    if response.status_code == 404:
        return None
    if response.status_code >= 400:
        raise RuntimeError(f"GET {url}: HTTP {response.status_code}: {first_line(response.text)[:200]}")
    return response.json()
