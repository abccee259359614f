"""The Kafka Connect connector as a Pulumi dynamic provider, generic over the connector class.

Inputs: `name`, `connect_url`, `connect_auth` (`{"username", "password"}` of the REST API's basic auth, or
None; secret in state), `config` (plain map), `secret_config` (map whose values stay secret in state; merged
into the connector config only when talking to the worker), `state` (declared: RUNNING, PAUSED or STOPPED),
`running_timeout_s` (how long create and update wait for the declared state).
Outputs: the inputs, with `state` the state the worker last reported (status.live_state: the declared one
once in sync; after a refresh e.g. `PAUSED` or `FAILED (task 0: <trace line>)`), and `tasks` (each task's id,
state and failed trace line). The diff compares that live `state` with the declared one, so a connector paused,
stopped or failed behind the stack's back is an update; read() also returns it as the input, so the preview
shows `state: "PAUSED" => "RUNNING"`.
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

from components.connect.client import ConnectClient, ConnectError, basic_auth
from components.connect.status import DEFAULT_STATE, STATES, failures, live_state, task_summary

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,248}$")
# keys that hold a credential value (not e.g. `s3.credentials.provider.class`, which names a class)
_CREDENTIAL_KEY = re.compile(
    r"(secret|password|passwd|token|access\.key\.id|secret\.access\.key|private\.key|credentials\.json)$", re.I
)
_PROVIDER_REFERENCE = re.compile(r"^\$\{[a-z][a-z0-9_-]*:[^}]*\}$")
REPLACE_ON = ("name", "connect_url")
#: how long update waits before a task still FAILED after its restart ends the wait
RESTART_GRACE_S = 15.0
#: what a worker may answer instead of a secret value: the declared value stands
MASKED_VALUES = frozenset({"[hidden]", "********"})


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
    if news.get("state", DEFAULT_STATE) not in STATES:
        failures.append(CheckFailure("state", f"{news.get('state')!r}: expected one of {', '.join(STATES)}"))
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
    if olds.get("state", DEFAULT_STATE) != news.get("state", DEFAULT_STATE):
        changed.append("state")
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
        state = declared_state(props)
        client.create(props["name"], config, initial_state=None if state == "RUNNING" else state)
        status = client.wait_state(props["name"], state, _timeout(props))
        return CreateResult(id_=props["name"], outs={**props, "state": state, "tasks": task_summary(status)})

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
        status = client.status(id_)
        outs = {**props, "name": id_, **live_properties(live, props), **live_status(status)}
        inputs = {key: outs[key] for key in INPUT_KEYS if key in outs}
        return ReadResult(id_, outs, inputs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Write the config if it changed, restart what failed, ask for the declared state, wait for it."""
        client, name, state = _client(news), news["name"], declared_state(news)
        if any(key.startswith(("config.", "secret_config.")) for key in changed_keys(olds, news)):
            client.put_config(name, merged_config(news))
        if state != "STOPPED" and failures(client.status(name)):
            client.restart_failed(name)
        client.set_state(name, state)
        status = client.wait_state(name, state, _timeout(news), fail_after_s=RESTART_GRACE_S)
        return UpdateResult({**news, "state": state, "tasks": task_summary(status)})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _client(props).delete(id_)


UNAUTHORIZED = 401
INPUT_KEYS = ("name", "connect_url", "connect_auth", "config", "secret_config", "state", "running_timeout_s")


def declared_state(props: dict[str, Any]) -> str:
    return str(props.get("state") or DEFAULT_STATE)


def live_properties(live: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """`config` and `secret_config` as the worker has them, split by the keys the state keeps secret; a masked
    secret value keeps the state's (a worker that hides secrets must not look like drift)."""
    live_config = {k: v for k, v in live.get("config", {}).items() if k != "name"}
    known_secrets = props.get("secret_config") or {}
    secret = {
        key: known_secrets[key] if value in MASKED_VALUES else value
        for key, value in live_config.items()
        if key in known_secrets
    }
    return {"config": {k: v for k, v in live_config.items() if k not in known_secrets}, "secret_config": secret}


def live_status(status: dict[str, Any]) -> dict[str, Any]:
    return {"state": live_state(status), "tasks": task_summary(status)}


def _timeout(props: dict[str, Any]) -> float:
    return float(props.get("running_timeout_s", 120))


def _client(props: dict[str, Any]) -> ConnectClient:
    return ConnectClient(str(props["connect_url"]), auth=basic_auth(props.get("connect_auth")))
