"""Kafka Connect: every connector on the worker and each of its tasks, their state and the first line of a
trace (`GET /connectors?expand=status`, one call). The stack's S3 sink is marked, and shown ABSENT when the
worker does not have it."""

from __future__ import annotations

from typing import Any

import requests

from demo.status.section import TIMEOUT_S, Unreadable, first_line, guarded
from demo.status.sources import Sources

#: the state shown for the stack's connector when the worker has none of that name
ABSENT = "ABSENT"


def section(src: Sources) -> dict[str, Any]:
    return guarded("connect", lambda: src.endpoint("kafka_connect_url", "connect"), lambda where: collect(src, where))


def collect(src: Sources, where: str) -> dict[str, Any]:
    login = src.outputs.get("kafka_connect_auth") or None
    auth = (login["username"], login["password"]) if login else None
    # plain requests, not components.connect's client: importing that package loads Pulumi (a second, here)
    response = requests.get(f"{where.rstrip('/')}/connectors?expand=status", auth=auth, timeout=TIMEOUT_S)
    if response.status_code >= 400:
        raise Unreadable(f"connect: GET /connectors: HTTP {response.status_code}: {first_line(response.text)[:200]}")
    listing: dict[str, Any] = response.json() or {}
    # the stack's connector first, then the rest by name
    ordered = sorted(listing.items(), key=lambda item: (item[0] != src.connector, item[0]))
    rows = [row(name, entry.get("status") or {}, name == src.connector) for name, entry in ordered]
    if src.connector not in listing and src.note is None:  # the stack's outputs were read: it declares one
        absent = {"type": "sink", "connector": {"state": ABSENT, "trace": "declared by the stack, not on the worker"}}
        rows.insert(0, row(src.connector, absent, True))
    return {"url": where, "connectors": rows}


def row(name: str, status: dict[str, Any], of_stack: bool) -> dict[str, Any]:
    connector = status.get("connector") or {}
    return {
        "name": name,
        "stack": of_stack,
        "type": status.get("type"),
        "state": connector.get("state"),
        "worker": connector.get("worker_id"),
        "trace": first_line(connector.get("trace")) or None,
        "tasks": [
            {
                "id": task.get("id"),
                "state": task.get("state"),
                "worker": task.get("worker_id"),
                "trace": first_line(task.get("trace")) or None,
            }
            for task in sorted(status.get("tasks") or [], key=lambda t: t.get("id", 0))
        ],
    }
