"""`MskConnectorState`: the part of a connector's state that MSK Connect's API lets the stack own (prod).

MSK Connect (the `kafkaconnect` API) has no pause, stop or offsets, and no per-task status: a connector is
RUNNING or it is not (CREATING, UPDATING, DELETING, RESTARTING, FAILED with a `stateDescription`). So the only
declared state is RUNNING: a refresh reports the live `connectorState` as the `state` output (and input, for
the preview's diff), a connector not RUNNING is drift, and `up` restarts what failed
(RestartConnector with `onlyFailedTasks`) and waits for RUNNING, naming the state description if it does not
come back. The connector itself is `aws.mskconnect.Connector` (components/msk_connect.py): this resource never
creates or deletes it. AWS credentials: the default chain of whoever runs the engine, as for pulumi-aws.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pulumi
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

from components.connect.status import first_line

RUNNING = "RUNNING"
#: how long update waits before a connector still FAILED after its restart ends the wait
RESTART_GRACE_S = 60.0
POLL_S = 10.0


class MskConnectError(RuntimeError):
    pass


def live_state(described: dict[str, Any]) -> str:
    """`connectorState`, with the first line of its description when FAILED."""
    state = str(described.get("connectorState", "UNKNOWN"))
    if state != "FAILED":
        return state
    why = described.get("stateDescription") or {}
    return f"FAILED ({why.get('code', 'no code')}: {first_line(why.get('message'))})"


def restart_failed(client: Any, arn: str) -> None:
    client.restart_connector(connectorArn=arn, onlyFailedTasks=True)


def wait_running(
    client: Any,
    arn: str,
    timeout_s: float,
    fail_after_s: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Poll DescribeConnector until RUNNING; a FAILED ends the wait at once (or after `fail_after_s`)."""
    started = time.monotonic()
    while True:
        state = live_state(client.describe_connector(connectorArn=arn))
        if state == RUNNING:
            return state
        waited = time.monotonic() - started
        if state.startswith("FAILED") and (fail_after_s is None or waited >= fail_after_s):
            raise MskConnectError(f"MSK Connect connector {arn} is not RUNNING: {state}")
        if waited >= timeout_s:
            raise MskConnectError(f"MSK Connect connector {arn} not RUNNING after {timeout_s:.0f}s: {state}")
        sleep(POLL_S)


def _client(arn: str) -> Any:
    import boto3

    return boto3.client("kafkaconnect", region_name=arn.split(":")[3])


def _timeout(props: dict[str, Any]) -> float:
    return float(props.get("running_timeout_s", 600))


class MskConnectorStateProvider(ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        if news.get("state", RUNNING) != RUNNING:
            reason = "MSK Connect cannot pause or stop a connector: RUNNING only (docs/connector-operations.md)"
            failures.append(CheckFailure("state", reason))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = ["connector_arn"] if olds.get("connector_arn") != news.get("connector_arn") else []
        changed = replaces or olds.get("state") != news.get("state", RUNNING)
        return DiffResult(changes=bool(changed), replaces=replaces, stables=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        arn = str(props["connector_arn"])
        state = wait_running(_client(arn), arn, _timeout(props))
        return CreateResult(id_=arn, outs={**props, "state": state})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        client = _client(id_)
        try:
            described = client.describe_connector(connectorArn=id_)
        except client.exceptions.NotFoundException:
            return ReadResult(None, {})
        outs = {**props, "connector_arn": id_, "state": live_state(described)}
        inputs: dict[str, Any] = {k: outs[k] for k in ("connector_arn", "state", "running_timeout_s") if k in outs}
        return ReadResult(id_, outs, inputs)

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        client = _client(id_)
        if live_state(client.describe_connector(connectorArn=id_)).startswith("FAILED"):
            restart_failed(client, id_)
        state = wait_running(client, id_, _timeout(news), fail_after_s=RESTART_GRACE_S)
        return UpdateResult({**news, "state": state})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing: the connector belongs to its aws.mskconnect.Connector."""


class MskConnectorState(Resource, module="msk-connect", name="ConnectorState"):
    #: MSK Connect's `connectorState` as last read: RUNNING once in sync, else e.g. `FAILED (code: message)`
    state: pulumi.Output[str]

    def __init__(
        self, resource_name: str, connector_arn: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props = {"connector_arn": connector_arn, "state": RUNNING, "running_timeout_s": 600}
        super().__init__(MskConnectorStateProvider(), resource_name, props, opts)
