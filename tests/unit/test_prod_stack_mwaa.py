"""Stack `prod` under the mock runtime: MWAA's role, artifacts and Airflow settings (Secrets Manager, never plain
text), and the subjects and topics it declares."""

from __future__ import annotations

import json
from typing import Any

from components.mwaa import airflow_configuration
from tests.unit._prod_stack import REGION, policy, prod
from tests.unit._stack_runs import stack_run

MWAA_ROLE_POLICY = "kde-prod-airflow-execution-policy"


MWAA_ACTIONS = {
    "airflow:PublishMetrics",
    "s3:ListAllMyBuckets",  # denied
    "s3:GetObject*",
    "s3:GetBucket*",
    "s3:List*",
    "logs:CreateLogStream",
    "logs:CreateLogGroup",
    "logs:PutLogEvents",
    "logs:GetLogEvents",
    "logs:GetLogRecord",
    "logs:GetLogGroupFields",
    "logs:GetQueryResults",
    "logs:DescribeLogGroups",
    "s3:GetAccountPublicAccessBlock",
    "cloudwatch:PutMetricData",
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:GenerateDataKey*",
    "kms:Encrypt",
    "secretsmanager:GetSecretValue",
    "secretsmanager:DescribeSecret",
    # what the DAGs do
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "s3:GetBucketLocation",
    "dynamodb:BatchWriteItem",
    "dynamodb:PutItem",
    "dynamodb:DescribeTable",
    "kafka-cluster:Connect",
    "kafka-cluster:DescribeCluster",
    "kafka-cluster:DescribeTopic",
    "kafka-cluster:WriteData",
}


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


def test_mwaa_role_holds_only_what_mwaa_and_the_dags_need() -> None:
    statements = policy(MWAA_ROLE_POLICY)["Statement"]
    assert {a for s in statements for a in _actions(s)} == MWAA_ACTIONS
    star = [s["Sid"] for s in statements if s.get("Resource") == "*"]
    assert sorted(star) == ["AccountPublicAccessBlock", "DescribeLogGroups", "Metrics"]  # AWS's own list
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["AirflowSecrets"]["Resource"] == [
        f"arn:aws:secretsmanager:{REGION}:123456789012:secret:airflow/connections/*",
        f"arn:aws:secretsmanager:{REGION}:123456789012:secret:airflow/variables/*",
    ]
    assert by_sid["ReadArtifacts"]["Resource"] == ["arn:aws:s3:::kde-prod-artifact", "arn:aws:s3:::kde-prod-artifact/*"]
    assert by_sid["LandingObjects"]["Resource"] == "arn:aws:s3:::kde-prod-landing/*"
    assert by_sid["NoBucketListing"]["Effect"] == "Deny"


def test_mwaa_ships_the_dags_plugins_and_requirements_to_the_artifact_bucket() -> None:
    objects = {o.inputs["key"]: o.inputs for o in prod().of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    assert {"dags/load_sources.py", "dags/finance_mongo_s3.py", "plugins.zip", "requirements.txt"} <= set(objects)
    assert all(o["bucket"] == "kde-prod-artifact" for o in objects.values())
    assert "aws-msk-iam-sasl-signer-python==1.0.2" in objects["requirements.txt"]["source"]
    env = prod().of_type("aws:mwaa/environment:Environment")[0].inputs
    assert env["sourceBucketArn"] == "arn:aws:s3:::kde-prod-artifact"
    assert (env["dagS3Path"], env["pluginsS3Path"], env["requirementsS3Path"]) == (
        "dags",
        "plugins.zip",
        "requirements.txt",
    )
    assert len(env["networkConfiguration"]["subnetIds"]) == 2


def test_airflow_reads_its_settings_from_secrets_manager() -> None:
    options = airflow_configuration(REGION)
    assert options["secrets.backend"] == ("airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend")
    assert json.loads(options["secrets.backend_kwargs"]) == {
        "connections_prefix": "airflow/connections",
        "variables_prefix": "airflow/variables",
        "region_name": REGION,
    }
    env = prod().of_type("aws:mwaa/environment:Environment")[0].inputs
    assert env["airflowConfigurationOptions"] == "[secret]"  # the provider keeps them secret in the state


def test_airflow_settings_are_secrets_never_plain_text() -> None:
    run = prod()
    names = sorted(s.inputs["name"] for s in run.of_type("aws:secretsmanager/secret:Secret"))
    assert names == [
        "airflow/connections/mongo_default",
        "airflow/connections/warehouse_bigquery",  # the BigQuery transformations' key (test_warehouse.py)
        "airflow/variables/stack_outputs",
    ]
    assert {v.inputs["secretString"] for v in run.of_type("aws:secretsmanager/secretVersion:SecretVersion")} == {
        "[secret]"
    }
    assert not [r for r in run.resources if r.type.startswith("pulumi-python:dynamic/airflow:")]
    assert "mongodb_uri" in run.secret_outputs
    plain = json.dumps([r.inputs for r in run.resources]) + json.dumps(run.outputs)
    assert "mongodb.invalid" not in plain and "plan:placeholder" not in plain


def test_subjects_are_on_the_confluent_api_registry() -> None:
    subjects = prod().of_type("pulumi-python:dynamic/schema-registry:Subject")
    assert {s.inputs["registry_url"] for s in subjects} == {prod().outputs["schema_registry_url"]}
    assert len(subjects) == len(prod().outputs["kafka_topics"])


def test_kafka_topics_map_datasets_to_topics_as_on_every_stack() -> None:
    assert prod().outputs["kafka_topics"] == stack_run("local").outputs["kafka_topics"]
