"""Airflow Variable/Connection dynamic providers without a server: check, diff, the masked-value rules of
refresh, the request bodies, URI parsing, and errors that never carry a secret (the calls against a real
Airflow are in tests/devstack/test_airflow_api_objects.py)."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
import requests
from pulumi.runtime import rpc

from components.airflow.client import MASK, AirflowApiError, raise_for_status
from components.airflow.drift import live_extra, live_variable_value
from components.airflow.inputs import connection_failures, variable_failures
from components.airflow.objects import connection_body, connection_diff, variable_diff
from components.airflow.provider import ConnectionProvider, VariableProvider
from components.airflow.uri import connection_fields_from_uri
from pipelines.batch.airflow_settings import ConnectionFields, mongo_uri

LOGIN: dict[str, Any] = {"api_url": "http://127.0.0.1:8080", "api_username": "admin", "api_password": "pw-1"}
VARIABLE: dict[str, Any] = {**LOGIN, "key": "s3_landing", "value": "kde-landing", "description": None, "secret": False}
CONNECTION: dict[str, Any] = {
    **LOGIN,
    "conn_id": "mongo_default",
    "conn_type": "mongo",
    "description": None,
    "host": "127.0.0.1",
    "port": 27017.0,  # Pulumi hands numbers over as floats
    "login": "root",
    "password": "s3cr3t",
    "schema": "kde-db",
    "extra": {"authSource": "admin"},
}


def secret(value: Any) -> dict[str, Any]:
    """A value as check()/diff() receive a secret input."""
    return {rpc._special_sig_key: rpc._special_secret_sig, "value": value}


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({}, []),
        ({"key": "bad key"}, ["key"]),
        ({"key": "x" * 251}, ["key"]),
        ({"value": 42}, ["value"]),
        ({"value": MASK}, ["value"]),
        ({"api_url": "127.0.0.1:8080"}, ["api_url"]),
        ({"api_password": ""}, ["api_password"]),
        ({"description": 3}, ["description"]),
        ({"secret": "yes"}, ["secret"]),
        # secrets arrive wrapped: checked as their values
        ({"value": secret("x"), "api_password": secret("pw")}, []),
    ],
)
def test_variable_check(change: dict[str, Any], failing: list[str]) -> None:
    assert [f.property for f in variable_failures({**VARIABLE, **change})] == failing


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({}, []),
        ({"conn_id": "has space"}, ["conn_id"]),
        ({"conn_type": ""}, ["conn_type"]),
        ({"port": 0}, ["port"]),
        ({"port": 70000}, ["port"]),
        ({"port": 1.5}, ["port"]),
        ({"port": True}, ["port"]),
        ({"port": None, "host": None, "login": None, "password": None, "schema": None, "extra": None}, []),
        ({"password": MASK}, ["password"]),
        ({"extra": "authSource=admin"}, ["extra"]),
        ({"extra": {"when": object()}}, ["extra"]),
        ({"password": secret("pw"), "extra": secret({"a": 1})}, []),
    ],
)
def test_connection_check(change: dict[str, Any], failing: list[str]) -> None:
    assert [f.property for f in connection_failures({**CONNECTION, **change})] == failing


def test_check_failures_never_echo_a_secret() -> None:
    bad = {**CONNECTION, "password": 12345678, "extra": "token=abcdef-secret", "api_password": ""}
    text = " ".join(f"{f.property} {f.reason}" for f in connection_failures(bad))
    assert "12345678" not in text and "abcdef-secret" not in text


@pytest.mark.parametrize(
    ("change", "changes", "replaces"),
    [
        ({}, False, []),
        ({"value": "other"}, True, []),
        ({"description": "why"}, True, []),
        ({"secret": True}, True, []),
        ({"api_password": "pw-2"}, True, []),
        ({"key": "s3_other"}, True, ["key"]),
        ({"api_url": "http://127.0.0.1:9090"}, True, ["api_url"]),
        ({"value": secret("kde-landing"), "api_password": secret("pw-1")}, False, []),
    ],
)
def test_variable_diff(change: dict[str, Any], changes: bool, replaces: list[str]) -> None:
    result = variable_diff(VARIABLE, {**VARIABLE, **change})
    assert (result.changes, result.replaces) == (changes, replaces)
    assert result.delete_before_replace is True


@pytest.mark.parametrize(
    ("change", "changes", "replaces"),
    [
        ({}, False, []),
        ({"port": 27017}, False, []),  # 27017 and 27017.0 are the same port
        ({"port": 27018}, True, []),
        ({"host": "mongo"}, True, []),
        ({"password": "new"}, True, []),
        ({"extra": {"authSource": "other"}}, True, []),
        ({"conn_type": "generic"}, True, []),
        ({"conn_id": "mongo_other"}, True, ["conn_id"]),
        ({"api_url": "http://airflow:8080"}, True, ["api_url"]),
        ({"password": secret("s3cr3t"), "extra": secret({"authSource": "admin"})}, False, []),
    ],
)
def test_connection_diff(change: dict[str, Any], changes: bool, replaces: list[str]) -> None:
    result = connection_diff(CONNECTION, {**CONNECTION, **change})
    assert (result.changes, result.replaces) == (changes, replaces)


def test_empty_and_missing_extra_are_no_change() -> None:
    assert not connection_diff({**CONNECTION, "extra": None}, {**CONNECTION, "extra": {}}).changes


@pytest.mark.parametrize(
    ("ours", "live", "recorded"),
    [
        ("v", "v", "v"),
        ("v", "changed", "changed"),  # drift shows
        ("hunter2", MASK, "hunter2"),  # masked: ours stands
        ('{"a":1,"token":"t"}', '{"a": 1, "token": "***"}', '{"a":1,"token":"t"}'),  # re-dumped, masked
        ('{"a":1,"token":"t"}', '{"a": 2, "token": "***"}', '{"a": 2, "token": "***"}'),  # drift beside a mask
        ('{"a":1}', '{"a": 1, "b": 2}', '{"a": 1, "b": 2}'),  # a key added behind our back
        ("1e3", "1000.0", "1e3"),  # the same JSON number
        ("not json", "not json either", "not json either"),
    ],
)
def test_refresh_keeps_our_variable_value_only_where_airflow_masked_or_reformatted_it(
    ours: str, live: str, recorded: str
) -> None:
    assert live_variable_value(ours, live) == recorded


def test_refresh_of_extra_keeps_masked_keys_and_shows_real_changes() -> None:
    ours = {"authSource": "admin", "api_key": "k-1", "gone": 1}
    live = {"authSource": "other", "api_key": MASK, "new": True}
    assert live_extra(ours, live) == {"authSource": "other", "api_key": "k-1", "new": True}


def test_connection_body_is_what_the_v2_api_takes() -> None:
    body = connection_body(CONNECTION)
    assert body == {
        "connection_id": "mongo_default",
        "conn_type": "mongo",
        "description": None,
        "host": "127.0.0.1",
        "port": 27017,
        "login": "root",
        "password": "s3cr3t",
        "schema": "kde-db",
        "extra": json.dumps({"authSource": "admin"}),
    }
    assert isinstance(body["port"], int)
    assert connection_body({**CONNECTION, "extra": {}, "port": None})["extra"] is None


def test_errors_name_the_endpoint_and_status_but_not_the_body() -> None:
    response = requests.Response()
    response.status_code, response.reason = 422, "Unprocessable Entity"
    response._content = json.dumps({"detail": [{"input": {"password": "s3cr3t"}}]}).encode()
    with pytest.raises(AirflowApiError) as err:
        raise_for_status("POST", "http://127.0.0.1:8080/api/v2/connections", response)
    assert str(err.value) == "POST http://127.0.0.1:8080/api/v2/connections: HTTP 422 Unprocessable Entity"


def test_providers_hold_no_state_and_pickle() -> None:
    for provider in (VariableProvider(), ConnectionProvider()):
        assert vars(provider) == {}
        assert type(pickle.loads(pickle.dumps(provider))) is type(provider)


@pytest.mark.parametrize(
    "uri",
    [
        "mongodb://127.0.0.1:15030/",
        "mongodb://root:p%40ss%2Fword@127.0.0.1:15030/?authSource=admin",
        "mongodb://u:p@h:27017/kde-db?authSource=admin&tls=true",
        "mongodb+srv://u:p@cluster0.example.net/?retryWrites=true",
        "mongodb://a:1,b:2/?replicaSet=rs0",
    ],
)
def test_mongo_uri_survives_the_round_trip_through_connection_fields(uri: str) -> None:
    fields = connection_fields_from_uri(uri)
    assert fields["conn_type"] == "mongo"
    assert not connection_failures({**LOGIN, "conn_id": "mongo_default", **fields})
    rebuilt = mongo_uri(ConnectionFields(**{**fields, "extra": fields["extra"] or {}}))
    assert _normalized(rebuilt) == _normalized(uri)


def _normalized(uri: str) -> str:
    return uri if "?" in uri else uri.rstrip("/") + "/"


def test_uri_fields_decode_credentials_and_follow_airflows_scheme_convention() -> None:
    fields = connection_fields_from_uri("google-cloud-platform://me:p%2Fw@host:5432/db?a=1")
    assert fields == {
        "conn_type": "google_cloud_platform",
        "host": "host",
        "port": 5432,
        "login": "me",
        "password": "p/w",
        "schema": "db",
        "extra": {"a": "1"},
    }
    with pytest.raises(ValueError, match="no scheme"):
        connection_fields_from_uri("127.0.0.1:27017")
