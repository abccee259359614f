"""The MSK Connect connector state provider (prod): no local server speaks its API, so botocore's Stubber answers
as AWS documents."""

from __future__ import annotations

from typing import Any

import pytest

MSK_ARN = "arn:aws:kafkaconnect:ap-southeast-7:123456789012:connector/s3-sink-kde/0a1b2c3d"
FAILED_MSK = {
    "connectorState": "FAILED",
    "stateDescription": {"code": "WorkerFailed", "message": "S3 AccessDenied\nat worker 1"},
}


@pytest.fixture
def msk(monkeypatch: pytest.MonkeyPatch) -> Any:
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(
        "kafkaconnect", region_name="ap-southeast-7", aws_access_key_id="k", aws_secret_access_key="s"
    )
    monkeypatch.setattr("components.connect.msk_state._client", lambda arn: client)
    monkeypatch.setattr("components.connect.msk_state.POLL_S", 0.0)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_msk_update_restarts_only_failed_tasks_and_waits_for_running(msk: Any) -> None:
    from components.connect.msk_state import MskConnectorStateProvider

    described = {"connectorArn": MSK_ARN}
    msk.add_response("describe_connector", FAILED_MSK, described)
    msk.add_response("restart_connector", {"connectorArn": MSK_ARN}, {**described, "onlyFailedTasks": True})
    msk.add_response("describe_connector", {"connectorState": "RESTARTING"}, described)
    msk.add_response("describe_connector", {"connectorState": "RUNNING"}, described)
    news = {"connector_arn": MSK_ARN, "state": "RUNNING", "running_timeout_s": 60}
    assert MskConnectorStateProvider().update(MSK_ARN, {"state": "FAILED (x)"}, news).outs == news


def test_msk_refresh_reports_a_failed_connector_as_drift_with_its_description(msk: Any) -> None:
    from components.connect.msk_state import MskConnectorStateProvider

    msk.add_response("describe_connector", FAILED_MSK, {"connectorArn": MSK_ARN})
    provider = MskConnectorStateProvider()
    read = provider.read(MSK_ARN, {"connector_arn": MSK_ARN, "state": "RUNNING"})
    assert (read.outs or {})["state"] == "FAILED (WorkerFailed: S3 AccessDenied)"
    assert provider.diff(MSK_ARN, read.outs or {}, {"connector_arn": MSK_ARN, "state": "RUNNING"}).changes
    assert not provider.diff(
        MSK_ARN, {"connector_arn": MSK_ARN, "state": "RUNNING"}, {"connector_arn": MSK_ARN}
    ).changes


def test_msk_wait_names_the_state_description_when_it_stays_failed(msk: Any) -> None:
    from components.connect.msk_state import MskConnectError, wait_running

    msk.add_response("describe_connector", FAILED_MSK, {"connectorArn": MSK_ARN})
    with pytest.raises(MskConnectError, match=r"is not RUNNING: FAILED \(WorkerFailed: S3 AccessDenied\)$"):
        wait_running(_stubbed_client(msk), MSK_ARN, timeout_s=60)


def test_msk_refresh_of_a_deleted_connector_reports_it_gone(msk: Any) -> None:
    from components.connect.msk_state import MskConnectorStateProvider

    msk.add_client_error("describe_connector", service_error_code="NotFoundException", http_status_code=404)
    assert MskConnectorStateProvider().read(MSK_ARN, {"connector_arn": MSK_ARN}).id is None


def test_msk_state_can_only_be_running() -> None:
    from components.connect.msk_state import MskConnectorStateProvider

    failures = MskConnectorStateProvider().check({}, {"connector_arn": MSK_ARN, "state": "PAUSED"}).failures
    assert [f.property for f in failures] == ["state"]
    assert "cannot pause or stop" in failures[0].reason


def _stubbed_client(stubber: Any) -> Any:
    return stubber.client
