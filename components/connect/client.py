"""A small Kafka Connect REST client (plain `requests`, no state beyond the base URL and the login), used by the
dynamic provider and usable on its own against a real worker. `auth`: HTTP basic auth (`(user, password)`) for
a worker whose REST API requires it (devstack's: the stack outputs' `kafka_connect_auth`, see `from_outputs`).

REST semantics: POST /connectors (with KIP-980's `initial_state`), PUT /connectors/{name}/config,
GET /connectors/{name}, GET /connectors/{name}/status, DELETE /connectors/{name},
PUT /connector-plugins/{class}/config/validate; the connector's state: PUT /connectors/{name}/pause, /resume,
/stop, POST /connectors/{name}/restart?includeTasks=true&onlyFailed=true; its offsets (KIP-875, the connector
STOPPED for a change): GET, PATCH and DELETE /connectors/{name}/offsets.
A worker answers 409 while a rebalance is in progress: every call retries it with exponential backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from components.connect.status import STATES, failures, live_state

REBALANCE_IN_PROGRESS = 409
#: the REST call that brings a connector to each declared state
STATE_VERBS = {"RUNNING": "resume", "PAUSED": "pause", "STOPPED": "stop"}


class ConnectError(RuntimeError):
    """A Connect worker refused or failed a request; the message carries the worker's own error text."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status, when the worker answered


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass
class ConnectClient:
    base_url: str
    timeout_s: float = 10.0
    retries: int = 6
    backoff_s: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    auth: tuple[str, str] | None = field(default=None, repr=False)

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any], **options: Any) -> ConnectClient:
        """A client of the stack's worker: its `kafka_connect_url`, with its `kafka_connect_auth` if any."""
        return cls(outputs["kafka_connect_url"], auth=basic_auth(outputs.get("kafka_connect_auth")), **options)

    def request(self, method: str, path: str, body: Any = None) -> requests.Response:
        url = self.base_url.rstrip("/") + path
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            response = requests.request(method, url, json=body, timeout=self.timeout_s, auth=self.auth)
            if response.status_code != REBALANCE_IN_PROGRESS or attempt == self.retries:
                return response
            self.sleep(delay)
            delay = min(delay * 2, 10.0)
        raise AssertionError("unreachable")

    def _ok(self, response: requests.Response, what: str) -> Any:
        if response.status_code >= 400:
            raise ConnectError(f"{what}: HTTP {response.status_code}: {_error_text(response)}", response.status_code)
        return response.json() if response.content else None

    def validate(self, connector_class: str, config: dict[str, str]) -> list[FieldError]:
        response = self.request("PUT", f"/connector-plugins/{connector_class}/config/validate", config)
        return validation_errors(self._ok(response, f"validate {connector_class}"))

    def get(self, name: str) -> dict[str, Any] | None:
        """The connector (`{"name", "config", "tasks", "type"}`), or None if the worker has none of that name."""
        response = self.request("GET", f"/connectors/{name}")
        if response.status_code == 404:
            return None
        result: dict[str, Any] = self._ok(response, f"get connector {name}")
        return result

    def status(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._ok(self.request("GET", f"/connectors/{name}/status"), f"status of {name}")
        return result

    def create(self, name: str, config: dict[str, str], initial_state: str | None = None) -> None:
        """Create the connector; `initial_state` (KIP-980, Kafka 3.7+) PAUSED or STOPPED: its tasks never run."""
        body: dict[str, Any] = {"name": name, "config": config}
        if initial_state:
            body["initial_state"] = initial_state
        self._ok(self.request("POST", "/connectors", body), f"create connector {name}")

    def set_state(self, name: str, state: str) -> None:
        """Ask for RUNNING (resume), PAUSED (pause) or STOPPED (stop); the worker gets there asynchronously."""
        if state not in STATES:
            raise ValueError(f"connector state {state!r}: expected one of {', '.join(STATES)}")
        verb = STATE_VERBS[state]
        self._ok(self.request("PUT", f"/connectors/{name}/{verb}"), f"{verb} connector {name}")

    def restart_failed(self, name: str) -> None:
        """Restart the connector and the tasks that FAILED, and nothing that runs."""
        path = f"/connectors/{name}/restart?includeTasks=true&onlyFailed=true"
        self._ok(self.request("POST", path), f"restart the failed parts of connector {name}")

    def offsets(self, name: str) -> list[dict[str, Any]]:
        """The committed offsets: `[{"partition": {...}, "offset": {...}}]` (a sink's: kafka_topic, kafka_partition,
        kafka_offset)."""
        result = self._ok(self.request("GET", f"/connectors/{name}/offsets"), f"offsets of {name}")
        return list((result or {}).get("offsets", []))

    def alter_offsets(self, name: str, offsets: list[dict[str, Any]]) -> str:
        """PATCH the offsets (the connector must be STOPPED); an `offset` of None resets that partition."""
        body = {"offsets": offsets}
        result = self._ok(self.request("PATCH", f"/connectors/{name}/offsets", body), f"alter offsets of {name}")
        return str((result or {}).get("message", ""))

    def reset_offsets(self, name: str) -> str:
        """DELETE every offset of the connector (it must be STOPPED): a sink starts over from the topics' start."""
        result = self._ok(self.request("DELETE", f"/connectors/{name}/offsets"), f"reset offsets of {name}")
        return str((result or {}).get("message", ""))

    def put_config(self, name: str, config: dict[str, str]) -> None:
        self._ok(self.request("PUT", f"/connectors/{name}/config", config), f"update connector {name}")

    def delete(self, name: str) -> None:
        response = self.request("DELETE", f"/connectors/{name}")
        if response.status_code != 404:
            self._ok(response, f"delete connector {name}")

    def ensure(self, name: str, config: dict[str, str], timeout_s: float = 120.0) -> None:
        """Create the connector, or replace its config; wait until it runs (tests' and benchmarks' throwaway
        connectors; the stack's own go through the Connector resource)."""
        if self.get(name) is None:
            self.create(name, config)
        else:
            self.put_config(name, config)
        self.wait_running(name, timeout_s)

    def wait_running(self, name: str, timeout_s: float = 120.0, poll_s: float = 2.0) -> dict[str, Any]:
        """Wait until the connector and all its tasks are RUNNING; raise at once on a failure."""
        return self.wait_state(name, "RUNNING", timeout_s, poll_s)

    def wait_state(
        self, name: str, state: str, timeout_s: float = 120.0, poll_s: float = 1.0, fail_after_s: float | None = None
    ) -> dict[str, Any]:
        """Wait until the connector is in `state` (status.live_state) and return its status. A failure ends the
        wait at once when `fail_after_s` is None, else only after that many seconds (a restart just asked for
        is not seen at once); the timeout's error names what still fails (task id and the trace's first line).
        Right after a create the worker answers 404 "No status found" for a moment: not there yet."""
        started = time.monotonic()
        while True:
            response = self.request("GET", f"/connectors/{name}/status")
            if response.status_code == 404:
                status, live = {}, f"no status yet ({_error_text(response)})"
            else:
                status = self._ok(response, f"status of {name}")
                live = live_state(status)
            if live == state:
                return status
            waited = time.monotonic() - started
            failed = failures(status)
            if failed and (fail_after_s is None or waited >= fail_after_s):
                raise ConnectError(f"connector {name} is not {state}: {'; '.join(failed)}")
            if waited >= timeout_s:
                raise ConnectError(f"connector {name} not {state} after {timeout_s:.0f}s: {live}")
            self.sleep(poll_s)


def basic_auth(credentials: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """`(username, password)` of a `{"username", "password"}` login (the outputs' `kafka_connect_auth`), or None."""
    if not credentials:
        return None
    return str(credentials["username"]), str(credentials["password"])


def validation_errors(result: dict[str, Any] | None) -> list[FieldError]:
    """Field errors of a `/config/validate` answer (`configs[].value.errors`)."""
    errors = []
    for entry in (result or {}).get("configs", []):
        value = entry.get("value", {})
        for message in value.get("errors", []):
            errors.append(FieldError(value.get("name", "?"), message))
    return errors


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict) and "message" in body:
        return str(body["message"])
    return str(body)[:500]
