"""The Kafka Connect connector dynamic provider: check/diff tables and the client's edge cases a real worker cannot
be made to show on demand (a rebalance's 409, a status not there yet). The status and offsets logic:
test_connect_status_and_offsets.py; MSK Connect's state: test_connect_msk.py. Create, update, state changes, refresh
and offsets against a real worker: tests/engine/test_connector_state.py."""

from __future__ import annotations

from typing import Any

import dill
import pytest

from components.connect.client import ConnectClient, ConnectError, validation_errors
from components.connect.provider import ConnectorProvider, changed_keys, live_properties, static_failures
from components.connect.status import live_state
from tests.unit._fake_http import FakeHttp, response

URL = "http://connect:8083"
CLASS = "io.confluent.connect.s3.S3SinkConnector"
BASE: dict[str, Any] = {"name": "s3-sink-kde", "connect_url": URL, "config": {"connector.class": CLASS, "topics": "t"}}
RUNNING = {"connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "RUNNING"}]}
VALID = {"configs": [{"value": {"name": "topics", "errors": []}}]}


def props(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


@pytest.mark.parametrize(
    ("news", "failing"),
    [
        (props(), []),
        (props(name="bad name!"), ["name"]),
        (props(connect_url="connect:8083"), ["connect_url"]),
        (props(config={"topics": "t"}), ["config"]),
        (props(config={"connector.class": CLASS, "tasks.max": 1}), ["config.tasks.max"]),
        (
            props(config={"connector.class": CLASS, "aws.secret.access.key": "AKIA..."}),
            ["config.aws.secret.access.key"],
        ),
        (props(config={"connector.class": CLASS, "aws.secret.access.key": "${env:AWS_SECRET_ACCESS_KEY}"}), []),
        (props(secret_config={"aws.secret.access.key": "s3cr3t"}), []),
        (props(config={"connector.class": CLASS, "x": "1"}, secret_config={"x": "2"}), ["config.x"]),
        (props(state="PAUSED"), []),
        (props(state="STOPPED"), []),
        (props(state="paused"), ["state"]),
        (props(state="FAILED"), ["state"]),
    ],
)
def test_static_check(news: dict[str, Any], failing: list[str]) -> None:
    assert [f.property for f in static_failures(news)] == failing


@pytest.mark.parametrize(
    ("olds", "news", "changes", "replaces"),
    [
        (props(), props(), False, []),
        (props(), props(name="other"), True, ["name"]),
        (props(), props(connect_url="http://other:8083"), True, ["connect_url"]),
        (props(), props(config={"connector.class": CLASS, "topics": "t2"}), True, []),
        # a refreshed config carries the worker's `name` key: not drift
        (props(config={**BASE["config"], "name": "s3-sink-kde"}), props(), False, []),
        (props(secret_config={"k": "a"}), props(secret_config={"k": "b"}), True, []),
        # the live state (an output after a refresh) against the declared one; no `state` means RUNNING
        (props(state="RUNNING"), props(), False, []),
        (props(state="PAUSED"), props(state="RUNNING"), True, []),
        (props(state="FAILED (task 0: java.lang.IllegalStateException: x)"), props(state="RUNNING"), True, []),
        (props(state="RUNNING"), props(state="STOPPED"), True, []),
    ],
)
def test_diff(olds: dict[str, Any], news: dict[str, Any], changes: bool, replaces: list[str]) -> None:
    result = ConnectorProvider().diff("s3-sink-kde", olds, news)
    assert (result.changes, result.replaces, result.delete_before_replace) == (changes, replaces, True)


def test_changed_keys_lists_the_config_keys_that_drifted() -> None:
    live = props(config={"connector.class": CLASS, "topics": "x", "flush.size": "9"})
    assert changed_keys(live, props()) == ["config.flush.size", "config.topics"]


def test_validation_errors_are_read_per_field() -> None:
    answer = {"configs": [{"value": {"name": "s3.bucket.name", "errors": ["Missing required configuration"]}}]}
    assert [(e.field, e.message) for e in validation_errors(answer)] == [
        ("s3.bucket.name", "Missing required configuration")
    ]


def test_client_retries_a_rebalance_409_with_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    http = FakeHttp({("PUT", "/connectors/c/config"): [response(409), response(409), response(200, {})]})
    monkeypatch.setattr("requests.request", http)
    waits: list[float] = []
    ConnectClient(URL, sleep=waits.append).put_config("c", {"connector.class": CLASS})
    assert len(http.calls) == 3
    assert waits == [0.5, 1.0]


def test_client_gives_up_after_its_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "requests.request", FakeHttp({("DELETE", "/connectors/c"): [response(409, {"message": "rebalance"})]})
    )
    with pytest.raises(ConnectError, match="HTTP 409: rebalance"):
        ConnectClient(URL, retries=2, sleep=lambda _: None).delete("c")


def test_check_reports_the_workers_field_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = {"configs": [{"value": {"name": "s3.region", "errors": ["Invalid region"]}}]}
    monkeypatch.setattr(
        "requests.request", FakeHttp({("PUT", f"/connector-plugins/{CLASS}/config/validate"): [response(200, answer)]})
    )
    failures = ConnectorProvider().check({}, props()).failures
    assert [(f.property, f.reason) for f in failures] == [("config.s3.region", "Invalid region")]


def test_check_names_every_field_of_a_real_workers_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shape devstack's worker answers for an unknown key (no definition) and a wrong-typed one (two errors)."""
    unknown = "unknown key for devstack's S3 sink (misspelt, or a setting of another connector)"
    answer = {
        "error_count": 3,
        "configs": [
            {"definition": None, "value": {"name": "flush.sise", "value": "3", "errors": [unknown]}},
            {
                "definition": {"name": "flush.size", "type": "INT"},
                "value": {
                    "name": "flush.size",
                    "value": None,
                    "errors": [
                        "Invalid value three for configuration flush.size: Not a number of type INT",
                        "Invalid value null for configuration flush.size: Value must be non-null",
                    ],
                },
            },
            {"definition": {"name": "topics"}, "value": {"name": "topics", "value": "t", "errors": []}},
        ],
    }
    monkeypatch.setattr(
        "requests.request", FakeHttp({("PUT", f"/connector-plugins/{CLASS}/config/validate"): [response(200, answer)]})
    )
    failures = ConnectorProvider().check({}, props()).failures
    assert [f.property for f in failures] == ["config.flush.sise", "config.flush.size", "config.flush.size"]
    assert "Not a number of type INT" in failures[1].reason


def test_check_skips_remote_validation_while_the_worker_is_down() -> None:
    import socket

    with socket.socket() as closed:  # a port bound and never listened on: the connection is refused
        closed.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{closed.getsockname()[1]}"
        assert ConnectorProvider().check({}, props(connect_url=down)).failures == []


def test_wait_running_waits_through_the_workers_first_404(monkeypatch: pytest.MonkeyPatch) -> None:
    no_status = response(404, {"error_code": 404, "message": "No status found for connector s3-sink-kde"})
    http = FakeHttp({("GET", "/connectors/s3-sink-kde/status"): [no_status, no_status, response(200, RUNNING)]})
    monkeypatch.setattr("requests.request", http)
    status = ConnectClient(URL, sleep=lambda _: None).wait_running("s3-sink-kde", timeout_s=60)
    assert live_state(status) == "RUNNING"
    assert len(http.calls) == 3


def test_wait_running_gives_up_when_the_status_never_appears(monkeypatch: pytest.MonkeyPatch) -> None:
    no_status = response(404, {"message": "No status found for connector c"})
    monkeypatch.setattr("requests.request", FakeHttp({("GET", "/connectors/c/status"): [no_status]}))
    with pytest.raises(ConnectError, match="not RUNNING after 0s: no status yet"):
        ConnectClient(URL, sleep=lambda _: None).wait_running("c", timeout_s=0)


def test_create_fails_at_once_with_the_tasks_first_trace_line(monkeypatch: pytest.MonkeyPatch) -> None:
    trace = "software.amazon.awssdk.services.s3.model.S3Exception: Access Denied\n\tat software.amazon..."
    failed = {"connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "FAILED", "trace": trace}]}
    monkeypatch.setattr(
        "requests.request",
        FakeHttp(
            {
                ("PUT", f"/connector-plugins/{CLASS}/config/validate"): [response(200, VALID)],
                ("POST", "/connectors"): [response(201, {})],
                ("GET", "/connectors/s3-sink-kde/status"): [response(200, failed)],
            }
        ),
    )
    with pytest.raises(ConnectError, match=r"is not RUNNING: task 0: software\S+S3Exception: Access Denied$"):
        ConnectorProvider().create(props())


def test_read_imports_by_name_and_keeps_secret_keys_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    live = {"name": "s3-sink-kde", "config": {"name": "s3-sink-kde", "connector.class": CLASS, "k": "v", "pw": "p"}}
    monkeypatch.setattr(
        "requests.request",
        FakeHttp(
            {
                ("GET", "/connectors/s3-sink-kde"): [response(200, live)],
                ("GET", "/connectors/s3-sink-kde/status"): [response(200, RUNNING)],
            }
        ),
    )
    result = ConnectorProvider().read("s3-sink-kde", {"connect_url": URL, "secret_config": {"pw": "old"}})
    assert result.id == "s3-sink-kde"
    assert (result.outs or {})["config"] == {"connector.class": CLASS, "k": "v"}
    assert (result.outs or {})["secret_config"] == {"pw": "p"}
    assert (result.outs or {})["state"] == "RUNNING"
    assert result.inputs is not None and result.inputs["state"] == "RUNNING" and "tasks" not in result.inputs


def test_a_masked_secret_value_is_no_drift_and_a_removed_one_is() -> None:
    state = {"secret_config": {"pw": "s3cr3t", "token": "t"}}
    live = {"config": {"connector.class": CLASS, "pw": "[hidden]"}}
    assert live_properties(live, state) == {"config": {"connector.class": CLASS}, "secret_config": {"pw": "s3cr3t"}}


def test_delete_tolerates_a_connector_already_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    http = FakeHttp({})
    monkeypatch.setattr("requests.request", http)
    ConnectorProvider().delete("gone", props())
    assert http.calls == [("DELETE", "/connectors/gone", None)]


def test_provider_survives_pulumi_serialization() -> None:
    restored = dill.loads(dill.dumps(ConnectorProvider(), recurse=True))
    assert [f.property for f in restored.check({}, props(name="bad name!")).failures] == ["name"]


def test_a_refused_login_on_refresh_keeps_the_state_for_the_next_up_to_rewrite(monkeypatch: Any) -> None:
    """devstack's home wiped: a new worker login; a refresh with the state's old one keeps the connector as the
    state has it (the same up's diff sees the new login and updates), any other error still fails."""
    props = {"name": "c", "connect_url": "http://w:8083", "config": {"connector.class": CLASS}}
    monkeypatch.setattr("requests.request", FakeHttp({("GET", "/connectors/c"): [response(401, {"message": "no"})]}))
    assert ConnectorProvider().read("c", props).outs == props
    monkeypatch.setattr("requests.request", FakeHttp({("GET", "/connectors/c"): [response(500, {"message": "x"})]}))
    with pytest.raises(ConnectError, match="HTTP 500"):
        ConnectorProvider().read("c", props)
