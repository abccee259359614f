"""The Airflow Variable/Connection providers against devstack's real Airflow 3 (REST API v2, JWT login):
create, read, update and delete; drift when an object is edited or deleted behind Pulumi's back; secrets
that Airflow masks never come back in plain text; the API password never reaches the service's log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from components.airflow.client import MASK, AirflowApiError
from components.airflow.drift import changed_keys
from components.airflow.objects import CONNECTION_FIELDS, connection_diff, variable_diff
from components.airflow.provider import ConnectionProvider, VariableProvider

pytestmark = pytest.mark.devstack


@pytest.fixture(scope="module")
def airflow(devstack: Any) -> Any:
    from devstack.config import DevstackConfig
    from devstack.services.airflow import Airflow

    devstack("airflow")
    return Airflow(DevstackConfig.from_env())


@pytest.fixture(scope="module")
def login(airflow: Any) -> dict[str, str]:
    api = airflow.api_credentials()
    return {"api_url": api["url"], "api_username": api["username"], "api_password": api["password"]}


@pytest.fixture
def raw(login: dict[str, str]) -> Any:
    """Plain REST calls with a JWT: what someone editing Airflow behind Pulumi's back does."""
    token = requests.post(
        f"{login['api_url']}/auth/token",
        json={"username": login["api_username"], "password": login["api_password"]},
        timeout=10,
    )
    assert token.status_code == 201, token.status_code
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def call(method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, f"{login['api_url']}{path}", json=body, headers=headers, timeout=10)

    return call


def outs(result: Any) -> dict[str, Any]:
    """What read() recorded (it returned an id: the object exists)."""
    assert result.id is not None and result.outs is not None
    return dict(result.outs)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def variable(login: dict[str, str]) -> Iterator[dict[str, Any]]:
    props: dict[str, Any] = {
        **login,
        "key": unique("test_var"),
        "value": "first",
        "description": "by the test",
        "secret": False,
    }
    yield props
    VariableProvider().delete(props["key"], props)


@pytest.fixture
def connection(login: dict[str, str]) -> Iterator[dict[str, Any]]:
    props: dict[str, Any] = {
        **login,
        "conn_id": unique("test_conn"),
        "conn_type": "mongo",
        "description": None,
        "host": "127.0.0.1",
        "port": 27017.0,
        "login": "root",
        "password": f"pw-{uuid.uuid4().hex}",
        "schema": "kde-db",
        "extra": {"authSource": "admin", "api_key": f"key-{uuid.uuid4().hex}"},
    }
    yield props
    ConnectionProvider().delete(props["conn_id"], props)


def test_variable_lifecycle_with_drift(variable: dict[str, Any], raw: Any) -> None:
    provider, key = VariableProvider(), variable["key"]
    created = provider.create(variable)
    assert created.id == key
    live = raw("GET", f"/api/v2/variables/{key}").json()
    assert (live["value"], live["description"]) == ("first", "by the test")

    updated = {**variable, "value": '{"rows": 1}', "description": None}
    assert variable_diff(variable, updated).replaces == []
    provider.update(key, variable, updated)
    assert raw("GET", f"/api/v2/variables/{key}").json()["value"] == '{"rows": 1}'
    # Airflow re-dumps JSON values ('{"rows": 1}' stays, '{"rows":1}' would not): no false drift either way
    assert outs(provider.read(key, updated))["value"] == '{"rows": 1}'

    # edited behind Pulumi's back: refresh reports it, and the next diff wants to put ours back
    assert raw("PATCH", f"/api/v2/variables/{key}", {"key": key, "value": "edited"}).status_code == 200
    refreshed = outs(provider.read(key, updated))
    assert refreshed["value"] == "edited"
    assert variable_diff(refreshed, updated).changes

    # deleted behind Pulumi's back: refresh drops it from the state; the next up creates it again
    assert raw("DELETE", f"/api/v2/variables/{key}").status_code == 204
    assert provider.read(key, updated).id is None
    provider.create(updated)
    assert raw("GET", f"/api/v2/variables/{key}").json()["value"] == '{"rows": 1}'

    provider.delete(key, updated)
    assert raw("GET", f"/api/v2/variables/{key}").status_code == 404
    provider.delete(key, updated)  # already gone: fine


def test_a_variable_that_exists_already_is_adopted_on_create(variable: dict[str, Any], raw: Any) -> None:
    key = variable["key"]
    assert raw("POST", "/api/v2/variables", {"key": key, "value": "left by an import"}).status_code == 201
    VariableProvider().create(variable)
    assert raw("GET", f"/api/v2/variables/{key}").json()["value"] == "first"


def test_a_secret_variable_is_masked_by_airflow_and_kept_by_refresh(login: dict[str, str], raw: Any) -> None:
    provider = VariableProvider()
    key = unique("test_api_password")  # a sensitive-looking key: Airflow masks the value
    value = f"v-{uuid.uuid4().hex}"
    props = {**login, "key": key, "value": value, "description": None, "secret": True}
    provider.create(props)
    try:
        live = raw("GET", f"/api/v2/variables/{key}")
        assert value not in live.text
        assert live.json()["value"] == MASK
        assert outs(provider.read(key, props))["value"] == value  # not drift: the mask is not a value
    finally:
        provider.delete(key, props)


def test_connection_lifecycle_masks_and_drift(connection: dict[str, Any], raw: Any, airflow: Any) -> None:
    provider, conn_id = ConnectionProvider(), connection["conn_id"]
    provider.create(connection)

    live = raw("GET", f"/api/v2/connections/{conn_id}")
    assert connection["password"] not in live.text and connection["extra"]["api_key"] not in live.text
    body = live.json()
    assert (body["conn_type"], body["host"], body["port"], body["login"]) == ("mongo", "127.0.0.1", 27017, "root")
    assert body["password"] == MASK
    assert json.loads(body["extra"]) == {"authSource": "admin", "api_key": MASK}
    # masked is not drift: refresh records our values
    refreshed = outs(provider.read(conn_id, connection))
    assert not connection_diff(refreshed, connection).changes

    # Airflow itself holds the real secrets (what a task's Connection.get returns)
    env = {**os.environ, **airflow.cli_env()}
    got = subprocess.run(
        [sys.executable, "-m", "airflow", "connections", "get", conn_id, "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert got.returncode == 0, got.stderr[-2000:]
    (stored,) = json.loads(got.stdout[got.stdout.index("[") :])
    assert stored["password"] == connection["password"]
    assert stored["extra_dejson"] == connection["extra"]
    # encrypted at rest with devstack's generated fernet key
    assert (stored["is_encrypted"], stored["is_extra_encrypted"]) == ("True", "True")

    updated = {**connection, "host": "mongo", "port": 27018, "extra": {"authSource": "admin"}}
    assert connection_diff(connection, updated).replaces == []
    provider.update(conn_id, connection, updated)
    body = raw("GET", f"/api/v2/connections/{conn_id}").json()
    assert (body["host"], body["port"], json.loads(body["extra"])) == ("mongo", 27018, {"authSource": "admin"})

    # edited behind Pulumi's back: refresh shows it, the next up puts ours back
    edit = {"connection_id": conn_id, "conn_type": "mongo", "host": "elsewhere"}
    assert raw("PATCH", f"/api/v2/connections/{conn_id}?update_mask=host", edit).ok
    drifted = outs(provider.read(conn_id, updated))
    assert changed_keys(drifted, updated, CONNECTION_FIELDS) == ["host"]
    provider.update(conn_id, drifted, updated)
    assert raw("GET", f"/api/v2/connections/{conn_id}").json()["host"] == "mongo"

    # a password taken out of the inputs is removed from Airflow too (a PATCH alone would keep it)
    no_password = {**updated, "password": None}
    assert connection_diff(updated, no_password).changes
    provider.update(conn_id, updated, no_password)
    assert raw("GET", f"/api/v2/connections/{conn_id}").json()["password"] is None
    # and one added behind Pulumi's back shows on refresh (as the mask: Airflow never returns it)
    edit = {"connection_id": conn_id, "conn_type": "mongo", "password": "added-by-hand"}
    assert raw("PATCH", f"/api/v2/connections/{conn_id}?update_mask=password", edit).ok
    drifted = outs(provider.read(conn_id, no_password))
    assert changed_keys(drifted, no_password, CONNECTION_FIELDS) == ["password"]
    provider.update(conn_id, drifted, no_password)
    assert raw("GET", f"/api/v2/connections/{conn_id}").json()["password"] is None
    updated = no_password

    assert raw("DELETE", f"/api/v2/connections/{conn_id}").status_code == 204
    assert provider.read(conn_id, updated).id is None
    provider.create(updated)
    assert raw("GET", f"/api/v2/connections/{conn_id}").status_code == 200
    provider.delete(conn_id, updated)
    assert raw("GET", f"/api/v2/connections/{conn_id}").status_code == 404


def test_a_wrong_password_is_a_one_line_error_without_the_password(variable: dict[str, Any]) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    with pytest.raises(AirflowApiError) as err:
        VariableProvider().create({**variable, "api_password": wrong})
    message = str(err.value)
    assert message == f"POST {variable['api_url']}/auth/token: HTTP 401 Unauthorized"
    assert wrong not in message


def test_the_admin_password_is_in_a_private_file_and_never_in_a_log(airflow: Any, login: dict[str, str]) -> None:
    assert oct(airflow.password_file.stat().st_mode & 0o777) == "0o600"
    assert oct(airflow.home.stat().st_mode & 0o777) == "0o700"
    for private in (airflow.config_file, airflow.db_file):
        assert oct(private.stat().st_mode & 0o777) == "0o600", private
    password = login["api_password"]
    logs = [airflow.log_file, *(p for p in (airflow.home / "logs").rglob("*") if p.is_file())]
    assert airflow.log_file.stat().st_size > 0
    leaked = [str(p) for p in logs if password in p.read_text(errors="replace")]
    assert leaked == []
