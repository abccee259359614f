"""Connection URIs as `AirflowConnection` inputs (the stacks hold MongoDB's as a URI)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


def connection_fields_from_uri(uri: str) -> dict[str, Any]:
    """A connection URI as AirflowConnection inputs: conn_type, host, port, login, password, schema, extra.

    `mongodb[+srv]://user:pw@host:port/db?opts` becomes the mongo provider's shape (conn_type `mongo`, the
    options in extra, `extra.srv` for +srv; a replica-set seed list, which host/port cannot hold, as
    `extra.uri`). Any other `type://login:password@host:port/schema?extra` follows Airflow's URI convention
    (`-` in the scheme becomes `_`)."""
    parts = urlsplit(uri)
    if not parts.scheme:
        raise ValueError("not a connection URI (no scheme)")
    mongo = parts.scheme in ("mongodb", "mongodb+srv")
    fields: dict[str, Any] = {
        "conn_type": "mongo" if mongo else parts.scheme.replace("-", "_"),
        "host": None,
        "port": None,
        "login": None,
        "password": None,
        "schema": None,
        "extra": None,
    }
    if mongo and "," in parts.netloc.rsplit("@", 1)[-1]:
        return {**fields, "extra": {"uri": uri}}
    extra: dict[str, Any] = dict(parse_qsl(parts.query))
    if parts.scheme == "mongodb+srv":
        extra["srv"] = True
    fields.update(
        host=unquote(parts.hostname) if parts.hostname else None,
        port=parts.port,
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        schema=unquote(parts.path.lstrip("/")) or None,
        extra=extra or None,
    )
    return fields
