"""`Connector`: the dynamic resource users declare (type `pulumi-python:dynamic/kafka-connect:Connector`)."""

from __future__ import annotations

from typing import Any, NotRequired, Required, TypedDict

import pulumi
from pulumi.dynamic import Resource

from components.connect.provider import ConnectorProvider


class ConnectorArgs(TypedDict):
    name: Required[pulumi.Input[str]]
    connect_url: Required[pulumi.Input[str]]
    #: the REST API's basic auth `{"username", "password"}` (kept secret in the state); None: anonymous
    connect_auth: NotRequired[pulumi.Input[dict[str, str] | None]]
    config: Required[pulumi.Input[dict[str, str]]]
    secret_config: NotRequired[pulumi.Input[dict[str, str]]]
    #: the declared state: RUNNING (default), PAUSED or STOPPED; create starts it so, update brings it back
    state: NotRequired[pulumi.Input[str]]
    running_timeout_s: NotRequired[pulumi.Input[int]]


class Connector(Resource, module="kafka-connect", name="Connector"):
    name: pulumi.Output[str]
    config: pulumi.Output[dict[str, str]]
    #: the state the worker last reported: the declared one once in sync, else e.g. `FAILED (task 0: ...)`
    state: pulumi.Output[str]
    #: each task's `{"id", "state"}`, with `"trace"` (its first line) when it failed
    tasks: pulumi.Output[list[dict[str, object]]]

    def __init__(self, resource_name: str, args: ConnectorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        props: dict[str, Any] = {
            "name": args["name"],
            "connect_url": args["connect_url"],
            "connect_auth": pulumi.Output.secret(args.get("connect_auth")),
            "config": args["config"],
            "secret_config": pulumi.Output.secret(args.get("secret_config") or {}),
            "running_timeout_s": args.get("running_timeout_s", 120),
            "state": args.get("state", "RUNNING"),
            "tasks": None,
        }
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=["secret_config", "connect_auth"])
        )
        super().__init__(ConnectorProvider(), resource_name, props, opts)
