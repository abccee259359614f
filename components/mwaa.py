"""Airflow on Amazon MWAA (stack `prod`): the stack ships the DAGs (pipelines/dags/*.py, one S3 object each
under `dags/`), a plugins.zip with the packages the DAGs import (pipelines, contract, schemas: on MWAA's Python
path) and a requirements file (the project's pinned base and `pipelines` dependencies) to the artifact
bucket, and runs a private MWAA environment in two private subnets.

Connections and variables come from AWS Secrets Manager through Airflow's secrets backend
(`secrets.backend` / `secrets.backend_kwargs`): `airflow/connections/<id>`, `airflow/variables/<key>`
(components/airflow/secrets.py writes them), so no setting is typed into Airflow and none is plain text.

The execution role holds what MWAA needs (AWS's documented set: its metrics, its log groups, its Celery
queues and their AWS-owned key, reading the artifact bucket) plus what the DAGs do: read the two secret
prefixes, write the lake's landing bucket and DynamoDB tables, produce to the stack's topics over MSK IAM.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NotRequired, Required, TypedDict

import pulumi
import pulumi_aws as aws

from components.msk import client_statements
from contract import naming

SECRETS_BACKEND = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
CONNECTIONS_PREFIX = "airflow/connections"
VARIABLES_PREFIX = "airflow/variables"
PLUGIN_PACKAGES = ("pipelines", "contract", "schemas")


class MwaaArgs(TypedDict):
    prefix: Required[str]
    stack: Required[str]
    region: Required[str]
    account_id: Required[pulumi.Input[str]]
    repo_root: Required[Path]
    artifact_bucket: Required[pulumi.Input[str]]
    artifact_bucket_arn: Required[pulumi.Input[str]]
    landing_bucket_arn: Required[pulumi.Input[str]]
    dynamodb_table_arns: Required[pulumi.Input[Sequence[str]]]
    cluster_arn: Required[pulumi.Input[str]]
    topics: Required[Sequence[str]]
    subnet_ids: Required[pulumi.Input[Sequence[str]]]
    security_group_ids: Required[Sequence[pulumi.Input[str]]]
    environment_class: NotRequired[str]
    airflow_version: NotRequired[str]
    max_workers: NotRequired[int]


class Mwaa(pulumi.ComponentResource):
    environment: aws.mwaa.Environment
    role: aws.iam.Role
    url: pulumi.Output[str]

    def __init__(self, name: str, args: MwaaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:orchestration:Mwaa", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        env_name = naming.resource_name(args["prefix"], args["stack"], "airflow")
        root, bucket = args["repo_root"], args["artifact_bucket"]

        def artifact(suffix: str, key: str, source: pulumi.Asset | pulumi.Archive) -> aws.s3.BucketObjectv2:
            return aws.s3.BucketObjectv2(f"{env_name}-{suffix}", bucket=bucket, key=key, source=source, opts=child)

        dags = [
            artifact(f"dag-{path.stem}", f"dags/{path.name}", pulumi.FileAsset(str(path)))
            for path in sorted((root / "pipelines" / "dags").glob("*.py"))
        ]
        archive: dict[str, pulumi.Asset | pulumi.Archive] = {
            p: pulumi.FileArchive(str(root / p)) for p in PLUGIN_PACKAGES
        }
        plugins = artifact("plugins", "plugins.zip", pulumi.AssetArchive(archive))
        pyproject = root / "pyproject.toml"
        requirements = artifact("requirements", "requirements.txt", pulumi.StringAsset(requirements_text(pyproject)))
        startup = artifact("startup", "startup.sh", pulumi.StringAsset(startup_script(pyproject)))
        self.role = aws.iam.Role(
            f"{env_name}-execution",
            name=f"{env_name}-execution",
            assume_role_policy=json.dumps(_trust()),
            opts=child,
        )
        policy = pulumi.Output.all(
            args["account_id"],
            args["artifact_bucket_arn"],
            args["landing_bucket_arn"],
            args["dynamodb_table_arns"],
            args["cluster_arn"],
        ).apply(
            lambda a: json.dumps(
                mwaa_policy(
                    region=args["region"],
                    account=a[0],
                    environment=env_name,
                    artifact_arn=a[1],
                    landing_arn=a[2],
                    table_arns=list(a[3]),
                    cluster_arn=a[4],
                    topics=list(args["topics"]),
                )
            )
        )
        role_policy = aws.iam.RolePolicy(f"{env_name}-execution-policy", role=self.role.id, policy=policy, opts=child)
        logging: Any = {
            kind: {"enabled": True, "log_level": "INFO"}
            for kind in ("dag_processing_logs", "scheduler_logs", "task_logs", "webserver_logs", "worker_logs")
        }
        network: Any = {"subnet_ids": args["subnet_ids"], "security_group_ids": args["security_group_ids"]}
        self.environment = aws.mwaa.Environment(
            env_name,
            name=env_name,
            airflow_version=args.get("airflow_version", "3.0.6"),
            environment_class=args.get("environment_class", "mw1.small"),
            min_workers=1,
            max_workers=args.get("max_workers", 2),
            execution_role_arn=self.role.arn,
            source_bucket_arn=args["artifact_bucket_arn"],
            dag_s3_path="dags",
            plugins_s3_path=plugins.key,
            plugins_s3_object_version=plugins.version_id,
            requirements_s3_path=requirements.key,
            requirements_s3_object_version=requirements.version_id,
            startup_script_s3_path=startup.key,
            startup_script_s3_object_version=startup.version_id,
            webserver_access_mode="PRIVATE_ONLY",
            network_configuration=network,
            airflow_configuration_options=airflow_configuration(args["region"]),
            logging_configuration=logging,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*dags, role_policy]),
        )
        self.url = pulumi.Output.concat("https://", self.environment.webserver_url)
        self.register_outputs({"url": self.url})


def airflow_configuration(region: str) -> dict[str, str]:
    """Airflow reads connections and variables from Secrets Manager (the stack writes them there)."""
    kwargs = {"connections_prefix": CONNECTIONS_PREFIX, "variables_prefix": VARIABLES_PREFIX, "region_name": region}
    return {"secrets.backend": SECRETS_BACKEND, "secrets.backend_kwargs": json.dumps(kwargs, sort_keys=True)}


def requirements_text(pyproject: Path) -> str:
    """The DAGs' dependencies as MWAA installs them: the project's pinned base and `pipelines` extra."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    pins = [*project["dependencies"], *project["optional-dependencies"]["pipelines"]]
    return "".join(f"{pin}\n" for pin in pins)


#: BigQuery's dbt on MWAA's workers, where $KDE_DBT_BIGQUERY (pipelines/transform/run.py) looks for it
DBT_BIGQUERY_HOME = "/usr/local/airflow/dbt-bigquery"


def startup_script(pyproject: Path) -> str:
    """MWAA's startup script (run on each container before Airflow): BigQuery's dbt in a virtualenv of its own
    on the workers, with pyproject's `transform-bigquery` pins; it cannot share the DAGs' packages (the
    requirements above), as pipelines/transform/bigquery_env.py explains."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    pins = " ".join(f"'{pin}'" for pin in project["optional-dependencies"]["transform-bigquery"])
    return (
        "#!/bin/sh\n"
        f"export KDE_DBT_BIGQUERY={DBT_BIGQUERY_HOME}/bin/dbt\n"
        'if [ "${MWAA_AIRFLOW_COMPONENT}" = "worker" ]; then\n'
        f"  python3 -m venv {DBT_BIGQUERY_HOME}\n"
        f"  {DBT_BIGQUERY_HOME}/bin/pip install --no-cache-dir {pins}\n"
        "fi\n"
    )


def _trust() -> dict[str, Any]:
    services = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": services}, "Action": "sts:AssumeRole"}],
    }


def mwaa_policy(
    *,
    region: str,
    account: str,
    environment: str,
    artifact_arn: str,
    landing_arn: str,
    table_arns: list[str],
    cluster_arn: str,
    topics: list[str],
) -> dict[str, Any]:
    """Least privilege for the MWAA execution role: what MWAA itself needs, then what the DAGs do."""
    arn = f"arn:aws:{{}}:{region}:{account}:{{}}"
    statements: list[dict[str, Any]] = [
        _allow("PublishMetrics", ["airflow:PublishMetrics"], arn.format("airflow", f"environment/{environment}")),
        {
            "Sid": "NoBucketListing",
            "Effect": "Deny",
            "Action": "s3:ListAllMyBuckets",
            "Resource": [artifact_arn, f"{artifact_arn}/*"],
        },
        _allow("ReadArtifacts", ["s3:GetObject*", "s3:GetBucket*", "s3:List*"], [artifact_arn, f"{artifact_arn}/*"]),
        _allow(
            "OwnLogs",
            [
                "logs:CreateLogStream",
                "logs:CreateLogGroup",
                "logs:PutLogEvents",
                "logs:GetLogEvents",
                "logs:GetLogRecord",
                "logs:GetLogGroupFields",
                "logs:GetQueryResults",
            ],
            arn.format("logs", f"log-group:airflow-{environment}-*"),
        ),
        _allow("DescribeLogGroups", ["logs:DescribeLogGroups"], "*"),
        _allow("AccountPublicAccessBlock", ["s3:GetAccountPublicAccessBlock"], "*"),
        _allow("Metrics", ["cloudwatch:PutMetricData"], "*"),
        _allow(
            "CeleryQueues",
            [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
                "sqs:SendMessage",
            ],
            f"arn:aws:sqs:{region}:*:airflow-celery-*",
        ),
        {
            "Sid": "CeleryQueueKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"],
            "NotResource": f"arn:aws:kms:*:{account}:key/*",  # the AWS-owned key of MWAA's queues only
            "Condition": {"StringLike": {"kms:ViaService": [f"sqs.{region}.amazonaws.com"]}},
        },
        _allow(
            "AirflowSecrets",
            ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            [arn.format("secretsmanager", f"secret:{p}/*") for p in (CONNECTIONS_PREFIX, VARIABLES_PREFIX)],
        ),
        _allow("LandingObjects", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], f"{landing_arn}/*"),
        _allow("LandingListing", ["s3:ListBucket", "s3:GetBucketLocation"], landing_arn),
        _allow("LoadTables", ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:DescribeTable"], table_arns),
        *client_statements(cluster_arn, write=topics),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def _allow(sid: str, actions: list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource}
