"""The two objects Airflow's REST API keeps for the stack, as one shape: a Variable (`key`, `value`, `description`)
and a Connection (`conn_id`, `conn_type`, `host`, `port`, `login`, `password`, `schema`, `extra` (a dict),
`description`). Each names its collection and id input, the inputs a diff compares and a refresh records, the
ones whose change replaces it, its check, its request body, and what a refresh reads back from the live one."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.dynamic import CheckFailure, DiffResult

from components.airflow.client import MASK
from components.airflow.drift import live_extra, live_variable_value, object_diff, port_number
from components.airflow.inputs import connection_failures, variable_failures

API_LOGIN = ("api_url", "api_username", "api_password")
VARIABLE_FIELDS = ("key", "value", "description")
CONNECTION_FIELDS = ("conn_id", "conn_type", "description", "host", "port", "login", "password", "schema", "extra")
VARIABLE_INPUTS = (*API_LOGIN, *VARIABLE_FIELDS, "secret")
CONNECTION_INPUTS = (*API_LOGIN, *CONNECTION_FIELDS)
VARIABLE_REPLACE_ON = ("api_url", "key")
CONNECTION_REPLACE_ON = ("api_url", "conn_id")

Props = Mapping[str, Any]


def variable_diff(olds: Props, news: Props) -> DiffResult:
    return object_diff(olds, news, VARIABLE_INPUTS, VARIABLE_REPLACE_ON)


def connection_diff(olds: Props, news: Props) -> DiffResult:
    return object_diff(olds, news, CONNECTION_INPUTS, CONNECTION_REPLACE_ON)


def variable_body(props: Props) -> dict[str, Any]:
    return {"key": props["key"], "value": props["value"], "description": props.get("description")}


def connection_body(props: Props) -> dict[str, Any]:
    extra = props.get("extra")
    return {
        "connection_id": props["conn_id"],
        "conn_type": props["conn_type"],
        "description": props.get("description"),
        "host": props.get("host"),
        "port": port_number(props.get("port")),
        "login": props.get("login"),
        "password": props.get("password"),
        "schema": props.get("schema"),
        "extra": json.dumps(extra, sort_keys=True) if extra else None,
    }


def live_variable(props: Props, live: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": live["key"],
        "value": live_variable_value(props.get("value"), live.get("value")),
        "description": live.get("description"),
    }


def live_connection(props: Props, live: dict[str, Any]) -> dict[str, Any]:
    password = live.get("password")
    extra = json.loads(live["extra"]) if live.get("extra") else {}
    return {
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


def password_removed(olds: Props, news: Props) -> bool:
    """A PATCH cannot remove a password (Airflow's Connection.set_password ignores an empty one)."""
    return bool(olds.get("password")) and not news.get("password")


def never(_olds: Props, _news: Props) -> bool:
    return False


@dataclass(frozen=True)
class RestObject:
    collection: str  # the REST API's: /api/v2/{collection}/{id}
    id_input: str  # the input that holds the object's id
    inputs: tuple[str, ...]  # what a diff compares and a refresh records as inputs
    failures: Callable[[Props], list[CheckFailure]]
    diff: Callable[[Props, Props], DiffResult]
    body: Callable[[Props], dict[str, Any]]
    live: Callable[[Props, dict[str, Any]], dict[str, Any]]  # the live object as outputs
    recreate_on_update: Callable[[Props, Props], bool] = never  # an update a PATCH cannot make


VARIABLE = RestObject(
    "variables", "key", VARIABLE_INPUTS, variable_failures, variable_diff, variable_body, live_variable
)
CONNECTION = RestObject(
    "connections",
    "conn_id",
    CONNECTION_INPUTS,
    connection_failures,
    connection_diff,
    connection_body,
    live_connection,
    recreate_on_update=password_removed,
)
