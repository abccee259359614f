"""The Kafka Connect connector as a Pulumi dynamic provider, generic over the connector class.

Inputs: `name`, `connect_url`, `connect_auth` (`{"username", "password"}` of the REST API's basic auth, or
None; secret in state), `config` (plain map), `secret_config` (map whose values stay secret in state; merged
into the connector config only when talking to the worker), `running_timeout_s`.
The provider keeps no client or socket: each call builds a ConnectClient from its inputs, so Pulumi can
serialize it and another process can run it.
"""

from __future__ import annotations

import re
from typing import Any

import requests
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from components.connect.client import ConnectClient, ConnectError, basic_auth, running_state

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,248}$")
# keys that hold a credential value (not e.g. `s3.credentials.provider.class`, which names a class)
_CREDENTIAL_KEY = re.compile(
    r"(secret|password|passwd|token|access\.key\.id|secret\.access\.key|private\.key|credentials\.json)$", re.I
)
_PROVIDER_REFERENCE = re.compile(r"^\$\{[a-z][a-z0-9_-]*:[^}]*\}$")
REPLACE_ON = ("name", "connect_url")


def merged_config(props: dict[str, Any]) -> dict[str, str]:
    return {**props.get("config", {}), **props.get("secret_config", {})}


def validation_config(props: dict[str, Any]) -> dict[str, str]:
    """What `/config/validate` gets: the merged config plus `name`, which a real worker requires there."""
    return {**merged_config(props), "name": str(props.get("name", ""))}


def static_failures(news: dict[str, Any]) -> list[CheckFailure]:
    """Everything checkable without a worker: name, URL, class, string values, no literal credentials."""
    failures = []
    name = news.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        failures.append(CheckFailure("name", f"{name!r}: use letters, digits, '.', '_', '-' (max 249)"))
    url = news.get("connect_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        failures.append(CheckFailure("connect_url", f"{url!r}: expected an http(s) URL of the Connect REST API"))
    config, secret = news.get("config") or {}, news.get("secret_config") or {}
    if not config.get("connector.class"):
        failures.append(CheckFailure("config", "connector.class is required"))
    for key in sorted(set(config) & set(secret)):
        failures.append(CheckFailure(f"config.{key}", "set in both config and secret_config"))
    for key, value in {**config, **secret}.items():
        if not isinstance(value, str):
            failures.append(CheckFailure(f"config.{key}", f"{value!r}: Connect config values are strings"))
    for key, value in config.items():
        if _CREDENTIAL_KEY.search(key) and isinstance(value, str) and not _PROVIDER_REFERENCE.match(value):
            failures.append(
                CheckFailure(
                    f"config.{key}",
                    "looks like a credential in plain config: reference a config provider "
                    "(e.g. ${env:AWS_SECRET_ACCESS_KEY}) or pass it in secret_config",
                )
            )
    return failures


def changed_keys(olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    """Properties whose values differ; the connector config is compared key by key, ignoring `name`. A new
    `connect_auth` (a new worker login) is an update, so the state keeps the login that works."""
    keys = ("name", "connect_url", "connect_auth", "running_timeout_s")
    changed = [key for key in keys if olds.get(key) != news.get(key)]
    for section in ("config", "secret_config"):
        old = {k: v for k, v in (olds.get(section) or {}).items() if k != "name"}
        new = {k: v for k, v in (news.get(section) or {}).items() if k != "name"}
        changed += [f"{section}.{k}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return changed


class ConnectorProvider(ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = static_failures(news)
        if not failures:
            failures = self._remote_failures(news)
        return CheckResult(news, failures)

    def _remote_failures(self, news: dict[str, Any]) -> list[CheckFailure]:
        """The worker's own field errors; skipped when the worker is not up yet (first `up`, previews)."""
        try:
            errors = _client(news).validate(news["config"]["connector.class"], validation_config(news))
        except requests.ConnectionError:
            return []
        except ConnectError as exc:
            return [CheckFailure("config.connector.class", str(exc))]
        return [CheckFailure(f"config.{e.field}", e.message) for e in errors]

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = changed_keys(olds, news)
        replaces = [key for key in changed if key in REPLACE_ON]
        return DiffResult(changes=bool(changed), replaces=replaces, stables=[], delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        client = _client(props)
        config = merged_config(props)
        errors = client.validate(config["connector.class"], validation_config(props))
        if errors:
            raise ConnectError("invalid connector config: " + "; ".join(f"{e.field}: {e.message}" for e in errors))
        client.create(props["name"], config)
        status = client.wait_running(props["name"], float(props.get("running_timeout_s", 120)))
        return CreateResult(id_=props["name"], outs={**props, "state": running_state(status)})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh (drift shows up in the next diff) and import by name (`props` then holds the inputs).
        When the worker refuses the login the state holds (a state from before its REST API took one, or a
        substrate recreated with a new password, e.g. devstack's home wiped), the connector is kept as the state
        has it: the same `up`'s diff sees the new `connect_auth` and writes the connector with it."""
        client = _client(props)
        try:
            live = client.get(id_)
        except ConnectError as exc:
            if exc.status == UNAUTHORIZED:
                return ReadResult(id_, props)
            raise
        if live is None:
            return ReadResult(None, {})
        live_config = {k: v for k, v in live.get("config", {}).items() if k != "name"}
        secret_keys = set(props.get("secret_config") or {})
        outs = {
            **props,
            "name": id_,
            "config": {k: v for k, v in live_config.items() if k not in secret_keys},
            "secret_config": {k: v for k, v in live_config.items() if k in secret_keys},
            "state": running_state(client.status(id_)),
        }
        return ReadResult(id_, outs)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        client = _client(news)
        client.put_config(news["name"], merged_config(news))
        status = client.wait_running(news["name"], float(news.get("running_timeout_s", 120)))
        return UpdateResult({**news, "state": running_state(status)})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _client(props).delete(id_)


UNAUTHORIZED = 401


def _client(props: dict[str, Any]) -> ConnectClient:
    return ConnectClient(str(props["connect_url"]), auth=basic_auth(props.get("connect_auth")))
