"""The S3 sink on MSK Connect (stack `prod`): the sink plugin uploaded to the artifact bucket as an MSK Connect
custom plugin, a connector with autoscaling workers in the private subnets (IAM auth and TLS to the brokers),
worker logs to CloudWatch, and a service execution role that replaces the `dev` stack's IAM user and access
key: S3 access only under the landing bucket's sink prefix (components.aws_lake.sink_policy), Kafka access only
to the sink's topics, MSK Connect's internal topics and its consumer group. No key exists anywhere.

Its running state is what MSK Connect's API allows (components.connect.msk_state): RUNNING only (no pause,
stop or offsets), a connector not RUNNING is drift on refresh, and `up` restarts what failed; see
docs/connector-operations.md.

The plugin is a `pulumi.FileAsset` of a zip named by stack config (`connectPluginPath`): the S3 sink and its
JSON Schema converter unpacked from containers/connect's image build. The SDK reads the file only when the
engine uploads it, so the mock run and the plan do not need it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NotRequired, Required, TypedDict

import pulumi
import pulumi_aws as aws

from components.aws_lake import sink_policy
from components.connect.msk_state import MskConnectorState
from components.msk import client_statements, topic_arn
from contract import naming

KAFKACONNECT_VERSION = "3.7.x"
#: MSK Connect keeps the connector's offsets, configs and status in topics of this prefix
INTERNAL_TOPIC_PREFIX = "__amazon_msk_connect_"


class MskConnectArgs(TypedDict):
    prefix: Required[str]
    stack: Required[str]
    plugin_path: Required[Path]
    artifact_bucket: Required[pulumi.Input[str]]
    artifact_bucket_arn: Required[pulumi.Input[str]]
    landing_bucket_arn: Required[pulumi.Input[str]]
    sink_prefix: Required[str]
    cluster_arn: Required[pulumi.Input[str]]
    bootstrap_servers: Required[pulumi.Input[str]]
    subnet_ids: Required[pulumi.Input[Sequence[str]]]
    security_group_ids: Required[Sequence[pulumi.Input[str]]]
    connector_name: Required[str]
    topics: Required[Sequence[str]]
    connector_config: Required[pulumi.Input[Mapping[str, str]]]
    mcu_count: NotRequired[int]
    min_workers: NotRequired[int]
    max_workers: NotRequired[int]


class MskConnect(pulumi.ComponentResource):
    connector: aws.mskconnect.Connector
    state: MskConnectorState
    role: aws.iam.Role
    name: pulumi.Output[str]

    def __init__(self, name: str, args: MskConnectArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:streaming:MskConnect", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        base = naming.resource_name(args["prefix"], args["stack"], "s3-sink")
        key = f"connect-plugins/{args['plugin_path'].name}"
        upload = aws.s3.BucketObjectv2(
            f"{base}-plugin-zip",
            bucket=args["artifact_bucket"],
            key=key,
            source=pulumi.FileAsset(str(args["plugin_path"])),
            opts=child,
        )
        plugin = aws.mskconnect.CustomPlugin(
            f"{base}-plugin",
            name=f"{base}-plugin",
            content_type="ZIP",
            location={
                "s3": {
                    "bucket_arn": args["artifact_bucket_arn"],
                    "file_key": upload.key,
                    "object_version": upload.version_id,
                }
            },
            opts=child,
        )
        logs = aws.cloudwatch.LogGroup(f"{base}-workers", name=f"/{base}/workers", retention_in_days=30, opts=child)
        self.role = aws.iam.Role(
            f"{base}-role",
            name=f"{base}-role",
            assume_role_policy=json.dumps(_assumed_by("kafkaconnect.amazonaws.com")),
            opts=child,
        )
        policy = pulumi.Output.all(args["landing_bucket_arn"], args["cluster_arn"]).apply(
            lambda a: json.dumps(
                connect_policy(a[0], args["sink_prefix"], a[1], list(args["topics"]), args["connector_name"])
            )
        )
        aws.iam.RolePolicy(f"{base}-role-policy", role=self.role.id, policy=policy, opts=child)
        capacity: Any = {
            "autoscaling": {
                "mcu_count": args.get("mcu_count", 1),
                "min_worker_count": args.get("min_workers", 1),
                "max_worker_count": args.get("max_workers", 2),
                "scale_in_policy": {"cpu_utilization_percentage": 20},
                "scale_out_policy": {"cpu_utilization_percentage": 75},
            }
        }
        self.connector = aws.mskconnect.Connector(
            base,
            name=args["connector_name"],
            kafkaconnect_version=KAFKACONNECT_VERSION,
            capacity=capacity,
            connector_configuration=args["connector_config"],
            kafka_cluster={
                "apache_kafka_cluster": {
                    "bootstrap_servers": args["bootstrap_servers"],
                    "vpc": {"security_groups": args["security_group_ids"], "subnets": args["subnet_ids"]},
                }
            },
            kafka_cluster_client_authentication={"authentication_type": "IAM"},
            kafka_cluster_encryption_in_transit={"encryption_type": "TLS"},
            plugins=[{"custom_plugin": {"arn": plugin.arn, "revision": plugin.latest_revision}}],
            service_execution_role_arn=self.role.arn,
            log_delivery={"worker_log_delivery": {"cloudwatch_logs": {"enabled": True, "log_group": logs.name}}},
            opts=child,
        )
        self.state = MskConnectorState(f"{base}-state", self.connector.arn, child)
        self.name = self.connector.name
        self.register_outputs({"name": self.name, "role": self.role.arn, "state": self.state.state})


def _assumed_by(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def connect_policy(
    landing_arn: str, sink_prefix: str, cluster_arn: str, topics: list[str], connector: str
) -> dict[str, Any]:
    """The sink's execution role: S3 only under the sink prefix, Kafka only its topics, internals and group."""
    internal = f"{INTERNAL_TOPIC_PREFIX}*"
    kafka = client_statements(cluster_arn, read=topics, groups=[f"connect-{connector}", internal])
    kafka.append(
        {
            "Sid": "ConnectInternalTopics",
            "Effect": "Allow",
            "Action": [
                "kafka-cluster:CreateTopic",
                "kafka-cluster:DescribeTopic",
                "kafka-cluster:ReadData",
                "kafka-cluster:WriteData",
            ],
            "Resource": topic_arn(cluster_arn, internal),
        }
    )
    return {"Version": "2012-10-17", "Statement": [*sink_policy(landing_arn, sink_prefix)["Statement"], *kafka]}
