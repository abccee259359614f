"""Airflow Variables and Connections as Pulumi dynamic resources, over Airflow 3's REST API v2.

Every call first exchanges the API login for a JWT (`POST {api_url}/auth/token` with username and password,
what Airflow 3's auth managers expose; 201 -> `access_token`), then sends it as a bearer token to
`/api/v2/variables[/{key}]` or `/api/v2/connections[/{conn_id}]`. Plain `requests`; the providers keep no
client, session or token (Pulumi pickles them and runs them in another process): each call builds what it
needs from its inputs.

`AirflowVariable` inputs: `api_url`, `api_username`, `api_password` (secret), `key`, `value` (text; JSON as
text), `description`, `secret` (the value is encrypted in the Pulumi state too). `AirflowConnection` inputs:
the same login, `conn_id`, `conn_type`, `host`, `port`, `login`, `password` (secret), `schema`, `extra` (a
dict, secret), `description`. The API password, a connection's password and extra, and a secret variable's
value are secret in the state (inputs wrapped in `Output.secret`, outputs in `additional_secret_outputs`);
errors name the endpoint and the HTTP status only, never a request or response body.

Lifecycle: create POSTs (and PATCHes an object that already exists, so a first `up` adopts what e.g. an
import left); `key`/`conn_id` or `api_url` changes replace the object, any other change PATCHes it in place;
delete DELETEs it (404 is fine: already gone). `read()` (refresh) reports drift: an object deleted behind
Pulumi's back disappears from the state (the next `up` creates it again), edited fields show up in the next
diff. Airflow masks what it calls sensitive in its responses ("***": every connection password, extra keys
and variable keys that look like secrets, e.g. `password`, `token`): a masked value reads back as the state's
value, so a change made behind Pulumi's back to a masked value is not seen on refresh.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NotRequired, Required, TypedDict
from urllib.parse import parse_qsl, quote, unquote, urlsplit

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
from pulumi.runtime import rpc

#: what Airflow's API returns instead of a value it masks
MASK = "***"
TIMEOUT_S = 10.0
API_LOGIN = ("api_url", "api_username", "api_password")
VARIABLE_FIELDS = ("key", "value", "description")
CONNECTION_FIELDS = ("conn_id", "conn_type", "description", "host", "port", "login", "password", "schema", "extra")
VARIABLE_REPLACE_ON = ("api_url", "key")
CONNECTION_REPLACE_ON = ("api_url", "conn_id")
_VARIABLE_KEY = re.compile(r"^[\w.-]{1,250}$")  # Airflow's ID_LEN is 250
_CONN_ID = re.compile(r"^[\w.-]{1,200}$")  # the pattern and length the API enforces


class AirflowApiError(RuntimeError):
    """An Airflow REST call failed; the message names the method, endpoint and HTTP status, nothing else."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status, when the server answered


UNAUTHORIZED = 401


def _login_for_refresh(props: Mapping[str, Any]) -> _Api | None:
    """The API login for a refresh, or None when Airflow refuses the login the state holds (its substrate was
    recreated with a new password, e.g. devstack's home wiped): the object is then kept as the state has it,
    and the same `up`'s diff sees the new login and writes the object with it."""
    try:
        return _Api.login(props)
    except AirflowApiError as exc:
        if exc.status == UNAUTHORIZED:
            return None
        raise


# --- inputs -----------------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """Inputs as check()/diff() get them hold secrets wrapped (Pulumi's secret signature); the plain values."""
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _login_failures(news: Mapping[str, Any]) -> list[CheckFailure]:
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
    failures = _login_failures(news)
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
    failures = _login_failures(news)
    conn_id = news.get("conn_id")
    if not isinstance(conn_id, str) or not _CONN_ID.match(conn_id):
        failures.append(CheckFailure("conn_id", f"{conn_id!r}: use letters, digits, '_', '.', '-' (max 200)"))
    if not isinstance(news.get("conn_type"), str) or not news.get("conn_type"):
        failures.append(CheckFailure("conn_type", "required, e.g. mongo, aws, postgres"))
    port = news.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int | float) or not 0 < port < 65536):
        failures.append(CheckFailure("port", f"{port!r}: expected a port number"))
    elif isinstance(port, float) and not port.is_integer():
        failures.append(CheckFailure("port", f"{port!r}: expected a whole port number"))
    failures += _optional_text_failures(news, ("host", "login", "schema", "description"))
    password = news.get("password")
    if password is not None and not isinstance(password, str):
        failures.append(CheckFailure("password", "expected text or nothing"))
    elif password == MASK:
        failures.append(CheckFailure("password", f"{MASK!r} is Airflow's mask for hidden values, not a password"))
    extra = news.get("extra")
    if extra is not None:
        if not isinstance(extra, dict):
            failures.append(CheckFailure("extra", "expected a map (Airflow keeps it as a JSON object)"))
        else:
            try:
                json.dumps(extra)
            except (TypeError, ValueError):
                failures.append(CheckFailure("extra", "its values must be JSON values"))
    return failures


def _port(value: Any) -> int | None:
    # Pulumi hands numbers over as floats
    return None if value is None else int(value)


def changed_keys(olds: Mapping[str, Any], news: Mapping[str, Any], fields: tuple[str, ...]) -> list[str]:
    olds, news = plain(olds), plain(news)
    changed = []
    for key in fields:
        old, new = olds.get(key), news.get(key)
        if key == "port":
            old, new = _port(old), _port(new)
        if key == "extra":
            old, new = old or {}, new or {}
        if key == "secret":
            old, new = bool(old), bool(new)
        if old != new:
            changed.append(key)
    return changed


def variable_diff(olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffResult:
    changed = changed_keys(olds, news, (*API_LOGIN, *VARIABLE_FIELDS, "secret"))
    replaces = [k for k in changed if k in VARIABLE_REPLACE_ON]
    # delete first: the same key on the same server (e.g. under another spelling of its URL) must not be
    # created by the replacement and then deleted by the old resource's delete
    return DiffResult(changes=bool(changed), replaces=replaces, stables=[], delete_before_replace=True)


def connection_diff(olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffResult:
    changed = changed_keys(olds, news, (*API_LOGIN, *CONNECTION_FIELDS))
    replaces = [k for k in changed if k in CONNECTION_REPLACE_ON]
    return DiffResult(changes=bool(changed), replaces=replaces, stables=[], delete_before_replace=True)


# --- masked values ----------------------------------------------------------------------------------


def _same_but_masked(ours: Any, live: Any) -> bool:
    """True when `live` equals `ours` wherever Airflow did not mask it."""
    if live == MASK:
        return True
    if isinstance(ours, dict) and isinstance(live, dict):
        return ours.keys() == live.keys() and all(_same_but_masked(ours[k], live[k]) for k in ours)
    if isinstance(ours, list) and isinstance(live, list):
        return len(ours) == len(live) and all(_same_but_masked(o, v) for o, v in zip(ours, live, strict=True))
    return bool(ours == live)


def live_variable_value(ours: str | None, live: str | None) -> str | None:
    """The value to record on refresh: ours while the live one is it (masked or re-serialized: Airflow
    returns a JSON value re-dumped with masks in it), else the live one (drift)."""
    if ours is None or live is None or live == ours:
        return live
    if live == MASK:
        return ours
    try:
        ours_json, live_json = json.loads(ours), json.loads(live)
    except json.JSONDecodeError:
        return live
    return ours if _same_but_masked(ours_json, live_json) else live


def live_extra(ours: Mapping[str, Any] | None, live: Mapping[str, Any]) -> dict[str, Any]:
    """A connection's extra on refresh: masked keys keep our values; changed, added or removed keys show."""
    ours = ours or {}
    return {k: ours[k] if k in ours and _same_but_masked(ours[k], v) else v for k, v in live.items()}


def as_inputs(outs: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """What refresh read, as the inputs later diffs start from: a preview then names the drifted fields (the
    engine keeps secret whatever was secret in the old inputs)."""
    return {key: outs.get(key) for key in fields}


# --- REST -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Api:
    """One call's view of the API: base URL and bearer token (built per provider call, never kept)."""

    base: str
    token: str

    @classmethod
    def login(cls, props: Mapping[str, Any]) -> _Api:
        base = str(props["api_url"]).rstrip("/")
        url = f"{base}/auth/token"
        try:
            response = requests.post(
                url,
                json={"username": props["api_username"], "password": props["api_password"]},
                timeout=TIMEOUT_S,
            )
        except requests.RequestException as exc:
            raise AirflowApiError(f"POST {url}: {type(exc).__name__} (is the Airflow API server up?)") from None
        _raise_for_status("POST", url, response)
        return cls(base, str(response.json()["access_token"]))

    def call(self, method: str, path: str, body: Any = None, allow_404: bool = False) -> Any:
        url = f"{self.base}{path}"
        try:
            response = requests.request(
                method, url, json=body, headers={"Authorization": f"Bearer {self.token}"}, timeout=TIMEOUT_S
            )
        except requests.RequestException as exc:
            raise AirflowApiError(f"{method} {url}: {type(exc).__name__}") from None
        if allow_404 and response.status_code == 404:
            return None
        _raise_for_status(method, url, response)
        return response.json() if response.content else None


def _raise_for_status(method: str, url: str, response: requests.Response) -> None:
    # no body: a 422 echoes the request (the secrets in it), and a 401 is about the password
    if response.status_code >= 400:
        message = f"{method} {url}: HTTP {response.status_code} {response.reason or ''}".rstrip()
        raise AirflowApiError(message, response.status_code)


def _path(collection: str, ident: str) -> str:
    return f"/api/v2/{collection}/{quote(ident, safe='')}"


def variable_body(props: Mapping[str, Any]) -> dict[str, Any]:
    return {"key": props["key"], "value": props["value"], "description": props.get("description")}


def connection_body(props: Mapping[str, Any]) -> dict[str, Any]:
    extra = props.get("extra")
    return {
        "connection_id": props["conn_id"],
        "conn_type": props["conn_type"],
        "description": props.get("description"),
        "host": props.get("host"),
        "port": _port(props.get("port")),
        "login": props.get("login"),
        "password": props.get("password"),
        "schema": props.get("schema"),
        "extra": json.dumps(extra, sort_keys=True) if extra else None,
    }


def _upsert(api: _Api, collection: str, ident: str, body: dict[str, Any], create_first: bool) -> None:
    """POST (409: it exists, PATCH it) or PATCH (404: it is gone, POST it): either way it ends as `body`."""
    if create_first:
        try:
            api.call("POST", f"/api/v2/{collection}", body)
            return
        except AirflowApiError as exc:
            if ": HTTP 409" not in str(exc):
                raise
        api.call("PATCH", _path(collection, ident), body)
        return
    if api.call("PATCH", _path(collection, ident), body, allow_404=True) is None:
        api.call("POST", f"/api/v2/{collection}", body)


class VariableProvider(ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, variable_failures(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return variable_diff(olds, news)

    def create(self, props: dict[str, Any]) -> CreateResult:
        _upsert(_Api.login(props), "variables", props["key"], variable_body(props), create_first=True)
        return CreateResult(id_=props["key"], outs=dict(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        _upsert(_Api.login(news), "variables", news["key"], variable_body(news), create_first=False)
        return UpdateResult(dict(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        api = _login_for_refresh(props)
        if api is None:
            return ReadResult(id_, props)
        live = api.call("GET", _path("variables", id_), allow_404=True)
        if live is None:
            return ReadResult(None, {})
        outs = {
            **props,
            "key": live["key"],
            "value": live_variable_value(props.get("value"), live.get("value")),
            "description": live.get("description"),
        }
        return ReadResult(id_, outs, as_inputs(outs, (*API_LOGIN, *VARIABLE_FIELDS, "secret")))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _Api.login(props).call("DELETE", _path("variables", id_), allow_404=True)


class ConnectionProvider(ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, connection_failures(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return connection_diff(olds, news)

    def create(self, props: dict[str, Any]) -> CreateResult:
        _upsert(_Api.login(props), "connections", props["conn_id"], connection_body(props), create_first=True)
        return CreateResult(id_=props["conn_id"], outs=dict(props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        api, body = _Api.login(news), connection_body(news)
        if olds.get("password") and not news.get("password"):
            # a PATCH cannot remove a password (Airflow's Connection.set_password ignores an empty one): recreate
            api.call("DELETE", _path("connections", news["conn_id"]), allow_404=True)
            api.call("POST", "/api/v2/connections", body)
        else:
            _upsert(api, "connections", news["conn_id"], body, create_first=False)
        return UpdateResult(dict(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        api = _login_for_refresh(props)
        if api is None:
            return ReadResult(id_, props)
        live = api.call("GET", _path("connections", id_), allow_404=True)
        if live is None:
            return ReadResult(None, {})
        password = live.get("password")
        extra = json.loads(live["extra"]) if live.get("extra") else {}
        outs = {
            **props,
            "conn_id": live["connection_id"],
            "conn_type": live["conn_type"],
            "description": live.get("description"),
            "host": live.get("host"),
            "port": live.get("port"),
            "login": live.get("login"),
            "schema": live.get("schema"),
            # every password comes back masked: a set one reads as ours (or as the mask when we set none: one
            # was added behind our back), a removed one as None
            "password": (props.get("password") or MASK) if password == MASK else password,
            "extra": live_extra(props.get("extra"), extra) or None,
        }
        return ReadResult(id_, outs, as_inputs(outs, (*API_LOGIN, *CONNECTION_FIELDS)))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _Api.login(props).call("DELETE", _path("connections", id_), allow_404=True)


# --- resources --------------------------------------------------------------------------------------


class _ApiLogin(TypedDict):
    api_url: Required[pulumi.Input[str]]  # the API server's base URL, e.g. http://127.0.0.1:8080
    api_username: Required[pulumi.Input[str]]
    api_password: Required[pulumi.Input[str]]  # kept secret in the state


class AirflowVariableArgs(_ApiLogin):
    key: Required[pulumi.Input[str]]
    value: Required[pulumi.Input[str]]  # text; a JSON value as its text
    description: NotRequired[pulumi.Input[str | None]]
    # a plain bool, not an Input: whether the value is encrypted in the state is decided when declaring it
    secret: NotRequired[bool]


class AirflowConnectionArgs(_ApiLogin):
    conn_id: Required[pulumi.Input[str]]
    conn_type: Required[pulumi.Input[str]]
    description: NotRequired[pulumi.Input[str | None]]
    host: NotRequired[pulumi.Input[str | None]]
    port: NotRequired[pulumi.Input[int | None]]
    login: NotRequired[pulumi.Input[str | None]]
    password: NotRequired[pulumi.Input[str | None]]  # kept secret in the state
    schema: NotRequired[pulumi.Input[str | None]]
    extra: NotRequired[pulumi.Input[Mapping[str, Any] | None]]  # kept secret in the state


def _with_secret_outputs(opts: pulumi.ResourceOptions | None, names: list[str]) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=names))


class AirflowVariable(Resource, module="airflow", name="Variable"):
    key: pulumi.Output[str]
    value: pulumi.Output[str]
    description: pulumi.Output[str | None]

    def __init__(
        self, resource_name: str, args: AirflowVariableArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        secret = bool(args.get("secret", False))
        props = {
            "api_url": args["api_url"],
            "api_username": args["api_username"],
            "api_password": pulumi.Output.secret(args["api_password"]),
            "key": args["key"],
            "value": pulumi.Output.secret(args["value"]) if secret else args["value"],
            "description": args.get("description"),
            "secret": secret,
        }
        secrets = ["api_password", "value"] if secret else ["api_password"]
        super().__init__(VariableProvider(), resource_name, props, _with_secret_outputs(opts, secrets))


class AirflowConnection(Resource, module="airflow", name="Connection"):
    conn_id: pulumi.Output[str]
    conn_type: pulumi.Output[str]
    host: pulumi.Output[str | None]

    def __init__(
        self, resource_name: str, args: AirflowConnectionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props = {
            "api_url": args["api_url"],
            "api_username": args["api_username"],
            "api_password": pulumi.Output.secret(args["api_password"]),
            "conn_id": args["conn_id"],
            "conn_type": args["conn_type"],
            "description": args.get("description"),
            "host": args.get("host"),
            "port": args.get("port"),
            "login": args.get("login"),
            "password": pulumi.Output.secret(args.get("password")),
            "schema": args.get("schema"),
            "extra": pulumi.Output.secret(args.get("extra")),
        }
        secrets = ["api_password", "password", "extra"]
        super().__init__(ConnectionProvider(), resource_name, props, _with_secret_outputs(opts, secrets))


# --- URIs -------------------------------------------------------------------------------------------


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
