"""What `check()` refuses before any call to Airflow: the API login, and each object's fields. Reasons never echo
a value (one may be a secret)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure
from pulumi.runtime import rpc

from components.airflow.client import MASK

_VARIABLE_KEY = re.compile(r"^[\w.-]{1,250}$")  # Airflow's ID_LEN is 250
_CONN_ID = re.compile(r"^[\w.-]{1,200}$")  # the pattern and length the API enforces


def plain(value: Any) -> Any:
    """Inputs as check()/diff() get them hold secrets wrapped (Pulumi's secret signature); the plain values."""
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def login_failures(news: Mapping[str, Any]) -> list[CheckFailure]:
    failures = []
    url = news.get("api_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        failures.append(CheckFailure("api_url", f"{url!r}: expected the http(s) base URL of the Airflow API server"))
    if not isinstance(news.get("api_username"), str) or not news.get("api_username"):
        failures.append(CheckFailure("api_username", "required: the Airflow user the API login is for"))
    if not isinstance(news.get("api_password"), str) or not news.get("api_password"):
        failures.append(CheckFailure("api_password", "required (a secret): the Airflow user's password"))
    return failures


def _optional_text_failures(news: Mapping[str, Any], names: tuple[str, ...]) -> list[CheckFailure]:
    return [
        CheckFailure(name, "expected text or nothing")
        for name in names
        if news.get(name) is not None and not isinstance(news.get(name), str)
    ]


def variable_failures(news: Mapping[str, Any]) -> list[CheckFailure]:
    """Everything checkable without a server (values are never echoed: one may be a secret)."""
    news = plain(news)
    failures = login_failures(news)
    key = news.get("key")
    if not isinstance(key, str) or not _VARIABLE_KEY.match(key):
        failures.append(CheckFailure("key", f"{key!r}: use letters, digits, '_', '.', '-' (max 250)"))
    value = news.get("value")
    if not isinstance(value, str):
        failures.append(CheckFailure("value", "expected text (serialize JSON values with json.dumps)"))
    elif value == MASK:
        failures.append(CheckFailure("value", f"{MASK!r} is Airflow's mask for hidden values, not a value"))
    failures += _optional_text_failures(news, ("description",))
    if not isinstance(news.get("secret", False), bool):
        failures.append(CheckFailure("secret", "expected true or false"))
    return failures


def connection_failures(news: Mapping[str, Any]) -> list[CheckFailure]:
    news = plain(news)
    failures = login_failures(news)
    conn_id = news.get("conn_id")
    if not isinstance(conn_id, str) or not _CONN_ID.match(conn_id):
        failures.append(CheckFailure("conn_id", f"{conn_id!r}: use letters, digits, '_', '.', '-' (max 200)"))
    if not isinstance(news.get("conn_type"), str) or not news.get("conn_type"):
        failures.append(CheckFailure("conn_type", "required, e.g. mongo, aws, postgres"))
    failures += _port_failures(news.get("port"))
    failures += _optional_text_failures(news, ("host", "login", "schema", "description"))
    password = news.get("password")
    if password is not None and not isinstance(password, str):
        failures.append(CheckFailure("password", "expected text or nothing"))
    elif password == MASK:
        failures.append(CheckFailure("password", f"{MASK!r} is Airflow's mask for hidden values, not a password"))
    return failures + _extra_failures(news.get("extra"))


def _port_failures(port: Any) -> list[CheckFailure]:
    if port is not None and (isinstance(port, bool) or not isinstance(port, int | float) or not 0 < port < 65536):
        return [CheckFailure("port", f"{port!r}: expected a port number")]
    if isinstance(port, float) and not port.is_integer():
        return [CheckFailure("port", f"{port!r}: expected a whole port number")]
    return []


def _extra_failures(extra: Any) -> list[CheckFailure]:
    if extra is None:
        return []
    if not isinstance(extra, dict):
        return [CheckFailure("extra", "expected a map (Airflow keeps it as a JSON object)")]
    try:
        json.dumps(extra)
    except (TypeError, ValueError):
        return [CheckFailure("extra", "its values must be JSON values")]
    return []
