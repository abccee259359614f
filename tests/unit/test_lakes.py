"""Secure defaults of the AWS and GCP lakes: each test fails if public access or encryption is off."""

from __future__ import annotations

import json

import pytest

from components.aws_lake import AwsLake, sink_policy
from schemas import DynamoDbKey
from schemas import load as load_schema
from stacks.mockrun import Run, run_program
from tests.unit._stack_runs import stack_run

STACKS = ("dev", "local")


def _lake_run(create_sink_user: bool) -> Run:
    def program() -> dict:
        lake = AwsLake("lake", {"prefix": "t", "stack": "unit", "create_sink_user": create_sink_user})
        return {
            "buckets": lake.bucket_names,
            "tables": lake.table_names,
            "key_id": lake.sink_access_key_id,
            "key_secret": lake.sink_secret_access_key,
        }

    return run_program("unit", program)


def test_aws_lake_names_come_from_the_naming_helper() -> None:
    run = _lake_run(create_sink_user=False)
    assert run.outputs["buckets"] == {r: f"t-unit-{r}" for r in ("landing", "staging", "persist", "artifact")}
    assert run.outputs["tables"] == {d: f"t-unit-{d}-data" for d in ("cards", "users", "transactions")}


def test_sink_access_key_is_only_exported_as_a_secret() -> None:
    run = _lake_run(create_sink_user=True)
    assert {"key_id", "key_secret"} <= run.secret_outputs
    assert run.outputs["key_secret"] == "[secret]"


@pytest.mark.parametrize("stack", STACKS)
def test_every_bucket_blocks_all_public_access(stack: str) -> None:
    run = stack_run(stack)
    blocks = {
        r.inputs["bucket"]: r.inputs for r in run.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    }
    buckets = {f"{r.name}-id" for r in run.of_type("aws:s3/bucket:Bucket")}
    assert set(blocks) == buckets
    for inputs in blocks.values():
        for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
            assert inputs[flag] is True, flag


@pytest.mark.parametrize("stack", STACKS)
def test_every_bucket_is_encrypted_and_versioned(stack: str) -> None:
    run = stack_run(stack)
    buckets = {f"{r.name}-id" for r in run.of_type("aws:s3/bucket:Bucket")}
    sse = run.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert {r.inputs["bucket"] for r in sse} == buckets
    for r in sse:
        algorithm = r.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"]
        assert algorithm in ("AES256", "aws:kms")
    versioning = run.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert {r.inputs["bucket"] for r in versioning} == buckets
    assert {r.inputs["versioningConfiguration"]["status"] for r in versioning} == {"Enabled"}
    for r in run.of_type("aws:s3/bucket:Bucket"):
        assert r.inputs.get("acl") in (None, "private")


@pytest.mark.parametrize("stack", STACKS)
def test_tables_are_on_demand_encrypted_and_recoverable(stack: str) -> None:
    for table in stack_run(stack).of_type("aws:dynamodb/table:Table"):
        assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
        assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
        assert table.inputs["serverSideEncryption"] == {"enabled": True}


def test_cards_table_keys_are_derived_from_the_schema() -> None:
    assert load_schema("cards").dynamodb_keys() == (
        DynamoDbKey("id", "HASH", "N"),
        DynamoDbKey("client_id", "RANGE", "N"),
    )
    table = stack_run("dev").named("kde-dev-cards-data").inputs
    assert (table["hashKey"], table.get("rangeKey")) == ("id", "client_id")


def test_sink_policy_is_scoped_to_the_landing_prefix() -> None:
    policy = sink_policy("arn:aws:s3:::b", "kafka/topics")
    resources = [s["Resource"] for s in policy["Statement"]]
    assert resources == ["arn:aws:s3:::b", "arn:aws:s3:::b/kafka/topics/*"]
    assert all("*" not in action for s in policy["Statement"] for action in s["Action"])
    # the policy the dev stack states, written out (not computed by sink_policy, the code under test)
    stated = stack_run("dev").of_type("aws:iam/userPolicy:UserPolicy")[0].inputs["policy"]
    assert json.loads(stated) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListSinkPrefix",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": "arn:aws:s3:::kde-dev-landing",
                "Condition": {"StringLike": {"s3:prefix": ["kafka/topics/*", "kafka/topics"]}},
            },
            {
                "Sid": "WriteSinkObjects",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                "Resource": "arn:aws:s3:::kde-dev-landing/kafka/topics/*",
            },
        ],
    }


@pytest.mark.parametrize("stack", STACKS)
def test_gcs_buckets_are_private_uniform_and_versioned(stack: str) -> None:
    buckets = stack_run(stack).of_type("gcp:storage/bucket:Bucket")
    assert {b.name for b in buckets} == {f"kde-{stack}-finance-{r}" for r in ("landing", "staging", "curated")}
    for bucket in buckets:
        assert bucket.inputs["uniformBucketLevelAccess"] is True
        assert bucket.inputs["publicAccessPrevention"] == "enforced"
        assert bucket.inputs["versioning"] == {"enabled": True}


def test_dev_has_bigquery_datasets_and_a_native_firestore_database() -> None:
    run = stack_run("dev")
    assert sorted(d.inputs["datasetId"] for d in run.of_type("gcp:bigquery/dataset:Dataset")) == [
        "kde_dev_finance_gold",
        "kde_dev_finance_silver",
    ]
    firestore = run.of_type("gcp:firestore/database:Database")[0].inputs
    assert (firestore["name"], firestore["type"]) == ("(default)", "FIRESTORE_NATIVE")
    assert run.outputs["bigquery_datasets"] == {"silver": "kde_dev_finance_silver", "gold": "kde_dev_finance_gold"}
    assert stack_run("local").outputs["bigquery_datasets"] == {}
