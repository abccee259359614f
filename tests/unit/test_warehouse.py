"""The warehouse under the mock runtime: BigQuery's transformations service account on `dev` and `prod` (its
roles and their scope, least privilege), its key secret all the way to the Airflow connection that carries
it, and DuckDB where there is no BigQuery."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from components.airflow.inputs import plain
from contract import naming
from contract.outputs import validate_outputs
from stacks import mockrun
from stacks.mockrun import MOCK_GCP_KEY, Run, run_stack, stack_config
from stacks.plan import render
from tests.unit._stack_runs import stack_run

CLOUD_STACKS = ("dev", "prod")
KEYFILE = base64.b64decode(MOCK_GCP_KEY).decode()
IAM_TYPES = {
    "gcp:bigquery/datasetIamMember:DatasetIamMember",
    "gcp:projects/iAMMember:IAMMember",
    "gcp:storage/bucketIAMMember:BucketIAMMember",
}


def _email(run: Run, stack: str) -> str:
    (account,) = run.of_type("gcp:serviceaccount/account:Account")
    assert account.inputs["accountId"] == naming.transform_service_account("kde", stack) == f"kde-{stack}-transform"
    return f"{account.inputs['accountId']}@{account.inputs['project']}.iam.gserviceaccount.com"


@pytest.mark.parametrize("stack", CLOUD_STACKS)
def test_the_transformations_service_account_holds_only_its_three_scoped_roles(stack: str) -> None:
    run = stack_run(stack)
    member = f"serviceAccount:{_email(run, stack)}"
    grants = {
        (r.type.split("/")[1].split(":")[0], r.inputs["role"], r.inputs.get("datasetId") or r.inputs.get("bucket"))
        for r in run.resources
        if r.type in IAM_TYPES
    }
    assert grants == {
        ("datasetIamMember", "roles/bigquery.dataEditor", f"kde_{stack}_finance_silver"),
        ("datasetIamMember", "roles/bigquery.dataEditor", f"kde_{stack}_finance_gold"),
        ("iAMMember", "roles/bigquery.jobUser", None),  # project-level: runs jobs, reads no data
        ("bucketIAMMember", "roles/storage.objectViewer", f"kde-{stack}-finance-landing"),
    }
    assert {r.inputs["member"] for r in run.resources if r.type in IAM_TYPES} == {member}
    (job_user,) = run.of_type("gcp:projects/iAMMember:IAMMember")
    assert job_user.inputs["project"] == f"kde-finance-{stack}"


@pytest.mark.parametrize("stack", CLOUD_STACKS)
def test_the_warehouse_output_is_bigquery_in_the_lakes_datasets(stack: str) -> None:
    run = stack_run(stack)
    assert run.outputs["warehouse"] == {
        "kind": "bigquery",
        "silver": run.outputs["bigquery_datasets"]["silver"],
        "gold": run.outputs["bigquery_datasets"]["gold"],
        "path": None,
        "project": run.outputs["gcp_project"],
        "location": "ASIA-SOUTHEAST1",
        "airflow_connection": naming.AIRFLOW_WAREHOUSE_CONNECTION,
    }
    assert "warehouse" not in run.secret_outputs


@pytest.fixture(scope="module")
def raw_inputs() -> Iterator[dict[str, dict[tuple[str, str], dict[str, Any]]]]:
    """Each cloud stack's resources with their inputs as declared (secrets unwrapped), beside the redacted run."""
    recorded: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    original = mockrun.RecordingMocks.new_resource

    def recording(self: mockrun.RecordingMocks, args: Any) -> Any:
        recorded.setdefault(self.run.stack, {})[(args.typ, args.name)] = plain(dict(args.inputs))
        return original(self, args)

    mockrun.RecordingMocks.new_resource = recording  # type: ignore[method-assign]
    try:
        for stack in CLOUD_STACKS:
            run_stack(stack, *stack_config(stack))
        yield recorded
    finally:
        mockrun.RecordingMocks.new_resource = original  # type: ignore[method-assign]


def _extra(stack: str) -> dict[str, str]:
    return {
        "keyfile_dict": KEYFILE,  # the key the provider returned, decoded to the JSON file Google's clients read
        "project": f"kde-finance-{stack}",
        "dataset": f"kde_{stack}_finance_silver",  # Cosmos's BigQuery profile requires a default dataset
        "location": "ASIA-SOUTHEAST1",
    }


def test_dev_airflow_connection_carries_the_key_as_a_secret(raw_inputs: dict) -> None:
    name = f"airflow-settings-{naming.AIRFLOW_WAREHOUSE_CONNECTION}"
    declared = stack_run("dev").named(name).inputs
    assert declared["conn_id"] == naming.AIRFLOW_WAREHOUSE_CONNECTION
    assert declared["conn_type"] == "google_cloud_platform"
    assert declared["extra"] == "[secret]"
    extra = raw_inputs["dev"][("pulumi-python:dynamic/airflow:Connection", name)]["extra"]
    assert extra == _extra("dev")


def test_prod_airflow_connection_is_a_secrets_manager_secret_carrying_the_key(raw_inputs: dict) -> None:
    secret_id = f"airflow/connections/{naming.AIRFLOW_WAREHOUSE_CONNECTION}"
    resource = secret_id.replace("/", "-")
    secrets = stack_run("prod").of_type("aws:secretsmanager/secret:Secret")
    assert [s.inputs["name"] for s in secrets if s.name == resource] == [secret_id]
    versions = stack_run("prod").of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert [v.inputs["secretString"] for v in versions if v.name == resource] == ["[secret]"]
    stored = raw_inputs["prod"][("aws:secretsmanager/secretVersion:SecretVersion", resource)]["secretString"]
    assert json.loads(stored) == {"conn_type": "google_cloud_platform", "extra": _extra("prod")}


@pytest.mark.parametrize("stack", CLOUD_STACKS)
def test_the_key_shows_nowhere_in_plain_text(stack: str) -> None:
    run = stack_run(stack)
    # every input as declared, whole (the plan cuts long values), secrets shown as [secret]; the outputs too
    text = render(run) + json.dumps([r.inputs for r in run.resources]) + json.dumps(run.outputs)
    for secret in (MOCK_GCP_KEY, "mock-private-key"):
        assert secret not in text


@pytest.mark.parametrize(("stack", "path"), [("local", "/opt/airflow/warehouse/finance.duckdb"), ("devstack", None)])
def test_without_bigquery_the_warehouse_is_duckdb_with_no_connection(stack: str, path: str | None) -> None:
    run = stack_run(stack)
    warehouse = validate_outputs(run.raw_outputs, stack)["warehouse"]
    assert warehouse["kind"] == "duckdb" and warehouse["airflow_connection"] is None
    assert warehouse["path"] == path or (path is None and str(warehouse["path"]).endswith("/warehouse/finance.duckdb"))
    assert not run.of_type("gcp:serviceaccount/account:Account")
    names = {r.name for r in run.of_type("pulumi-python:dynamic/airflow:Connection")}
    assert f"airflow-settings-{naming.AIRFLOW_WAREHOUSE_CONNECTION}" not in names
