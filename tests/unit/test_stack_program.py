from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from contract.outputs import OUTPUT_KEYS, validate_outputs
from stacks.mockrun import REPO_ROOT, Run
from stacks.plan import render, snapshot_path
from tests.unit._stack_runs import stack_run

STACKS = ("dev", "local")
CONTAINER = "docker:index/container:Container"


def _count(stack: str) -> Counter[str]:
    return Counter(r.type for r in stack_run(stack).resources)


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_are_exactly_the_contract(stack: str) -> None:
    # `kafka_auth` is null here: left out, as Pulumi leaves out null outputs; the contract reads it back as null
    outputs = stack_run(stack).raw_outputs
    assert tuple(outputs) == tuple(k for k in OUTPUT_KEYS if k != "kafka_auth")
    assert sorted(validate_outputs(outputs, stack)) == sorted(OUTPUT_KEYS)
    assert validate_outputs(outputs, stack)["kafka_auth"] is None


@pytest.mark.parametrize("stack", STACKS)
def test_mongodb_uri_is_a_secret_output(stack: str) -> None:
    assert "mongodb_uri" in stack_run(stack).secret_outputs


def test_local_credentials_are_secret_and_dev_has_none() -> None:
    assert "aws_credentials" in stack_run("local").secret_outputs
    assert stack_run("dev").outputs["aws_credentials"] is None


@pytest.mark.parametrize("stack", STACKS)
def test_no_credential_appears_in_plain_inputs_or_outputs(stack: str) -> None:
    run = stack_run(stack)
    plain = json.dumps([r.inputs for r in run.resources]) + json.dumps(run.outputs)
    for secret in ("mock-secret-access-key", "devstack-secret"):
        assert secret not in plain


@pytest.mark.parametrize(
    ("type_", "dev", "local"),
    [
        ("aws:s3/bucket:Bucket", 4, 4),
        ("aws:dynamodb/table:Table", 3, 3),
        ("gcp:storage/bucket:Bucket", 3, 3),
        ("gcp:bigquery/dataset:Dataset", 2, 0),
        ("gcp:firestore/database:Database", 1, 0),
        ("pulumi-python:dynamic/kafka-connect:Connector", 1, 1),
        ("pulumi-python:dynamic/kafka:Topic", 6, 6),  # a topic per dataset and the S3 sink's dead letters
        ("pulumi-python:dynamic/schema-registry:Subject", 5, 5),
        ("aws:iam/accessKey:AccessKey", 1, 0),
    ],
)
def test_each_stack_declares_the_seed_resources(type_: str, dev: int, local: int) -> None:
    assert (_count("dev")[type_], _count("local")[type_]) == (dev, local)


@pytest.mark.parametrize("stack", STACKS)
def test_containers_of_the_platform(stack: str) -> None:
    names = {r.name for r in stack_run(stack).of_type(CONTAINER)}
    roles = {"kafka", "schema-registry", "rest-proxy", "connect", "console", "airflow-db", "mongodb"}
    roles |= {"airflow", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}
    if stack == "local":
        roles |= {"moto", "gcs", "firestore"}
    assert names == {f"kde-{stack}-{role}" for role in roles}


def test_local_points_providers_at_the_emulators() -> None:
    run = stack_run("local")
    aws = run.of_type("pulumi:providers:aws")[0].inputs
    assert json.loads(aws["endpoints"])[0]["s3"] == "http://127.0.0.1:14566"
    assert aws["secretKey"] == "[secret]"
    gcp = run.of_type("pulumi:providers:gcp")[0].inputs
    assert gcp["storageCustomEndpoint"] == "http://127.0.0.1:14443/storage/v1/"
    assert run.outputs["endpoints"] == {
        "s3": "http://127.0.0.1:14566",
        "dynamodb": "http://127.0.0.1:14566",
        "gcs": "http://127.0.0.1:14443",
        "firestore": "127.0.0.1:18086",
    }


def test_dev_uses_real_cloud_providers_in_the_configured_region() -> None:
    run = stack_run("dev")
    assert run.of_type("pulumi:providers:aws")[0].inputs["region"] == "ap-southeast-7"
    assert run.outputs["endpoints"] == {}
    assert run.outputs["s3_sink"] == {
        "connector": "s3-sink-kde",
        "topics": ["cards-data"],
        "bucket": "kde-dev-landing",
        "prefix": "kafka/topics",
        "flavour": "confluent",
        "dead_letter_topic": "s3-sink-kde-dlq",
    }


@pytest.mark.parametrize("stack", STACKS)
def test_committed_plan_snapshot_is_current(stack: str) -> None:
    assert snapshot_path(stack).read_text(encoding="utf-8") == render(stack_run(stack)), (
        f"plan of {stack} changed: review it with `make plan STACK={stack}`, accept with ACCEPT=1"
    )


DOCKER, MANAGED = "kde:substrate:DockerSubstrate", "kde:substrate:ManagedSubstrate"
SUBSTRATE_TYPES = {"dev": DOCKER, "local": DOCKER, "prod": MANAGED}


def _moved_child(run: Run, urn: str, substrate: str) -> str | None:
    """The child of the substrate component that `urn` is or descends from; None outside the substrate."""
    while urn:
        parent = run.parents.get(urn, "")
        if parent == substrate:
            return urn
        urn = parent
    return None


@pytest.mark.parametrize("stack", SUBSTRATE_TYPES)
def test_substrate_children_keep_their_urns_from_before_it_was_a_component(stack: str) -> None:
    # every resource the substrate holds was declared at the stack's root before, or beneath such a resource:
    # its direct child is aliased to the root, so the engine keeps the old URN of it and (derived from the
    # parent's alias) of everything beneath it; no resource is replaced
    run = stack_run(stack)
    substrate = run.urns[(SUBSTRATE_TYPES[stack], "substrate")]
    inside = {urn: _moved_child(run, urn, substrate) for urn in run.urns.values()}
    inside = {urn: child for urn, child in inside.items() if child is not None}
    assert len(inside) > 20
    assert {child for child in inside.values()} <= run.moved_from_root
    assert run.moved_from_root <= set(inside)
    # the URN each had before (no substrate in its type chain) is its own: no two collide, none is taken
    before = {urn.replace(f"{SUBSTRATE_TYPES[stack]}$", "") for urn in inside}
    assert len(before) == len(inside)
    assert not before & (set(run.urns.values()) - set(inside))


def test_plan_and_graph_are_verbs_of_python_m_stacks() -> None:
    def run(*verb: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "stacks", *verb], capture_output=True, text=True, cwd=REPO_ROOT)

    plan = run("plan", "--stack", "dev")
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.endswith("plan matches tests/snapshots/plan-dev.txt\n")
    graph = run("graph", "--stack", "prod")
    assert graph.returncode == 0 and graph.stdout.startswith("flowchart LR\n"), graph.stderr
    assert "usage: python -m stacks plan" in run("plan", "--help").stdout
