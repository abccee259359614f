"""`AirflowVariable` and `AirflowConnection`: the dynamic resources users declare (types
`pulumi-python:dynamic/airflow:Variable` and `pulumi-python:dynamic/airflow:Connection`).

The API password, a connection's password and extra, and a secret variable's value are secret in the state
(inputs wrapped in `Output.secret`, outputs in `additional_secret_outputs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NotRequired, Required, TypedDict

import pulumi
from pulumi.dynamic import Resource

from components.airflow.provider import ConnectionProvider, VariableProvider


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
