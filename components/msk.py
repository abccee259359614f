"""Amazon MSK for the managed engines (stack `prod`): the cluster and the stack's topics.

Provisioned (default, `mskMode: provisioned`): `broker_count` brokers spread over the private subnets (one AZ
each), no public access, IAM authentication only (port 9098; no unauthenticated, SCRAM or plaintext
listener), TLS between clients and brokers and between brokers, storage encrypted with the stack's own KMS
key, broker logs to CloudWatch, and a cluster configuration whose defaults are replication factor 3 and
min.insync.replicas 2 with topic auto-creation off. Serverless (`mskMode: serverless`): IAM only, TLS and
encryption at rest are always on and not configurable, and AWS fixes replication (3) and min.insync (2).

Topics are `aws.msk.Topic` resources (pulumi-aws 7.x; MSK's control-plane topic API), not the
confluent-kafka dynamic resource of the other stacks (components/kafka_topic/), because:
- the brokers sit in private subnets with no route from wherever the Pulumi engine runs; the control-plane
  API is reached like any other AWS API, with the deployer's own credentials;
- the dynamic resource would need SASL/OAUTHBEARER with the MSK signer inside the engine's process and an IAM
  policy for the deployer on the data plane (kafka-cluster:CreateTopic/AlterTopic), i.e. a second auth path;
- the provider's resource shows in the plan with its replication factor and configs like any other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import NotRequired, Required, TypedDict

import pulumi
import pulumi_aws as aws

from components.kafka_catalog import DEFAULT_TOPIC_CONFIGS
from contract import naming

REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = 2
SERVER_PROPERTIES = {
    "auto.create.topics.enable": "false",
    "default.replication.factor": str(REPLICATION_FACTOR),
    "min.insync.replicas": str(MIN_INSYNC_REPLICAS),
    "num.partitions": "3",
    "unclean.leader.election.enable": "false",
}


class MskArgs(TypedDict):
    prefix: Required[str]
    stack: Required[str]
    subnet_ids: Required[pulumi.Input[Sequence[str]]]
    security_group_ids: Required[Sequence[pulumi.Input[str]]]
    #: topic name -> partitions (each with DEFAULT_TOPIC_CONFIGS)
    topics: Required[Mapping[str, int]]
    #: compacted single-partition topics (the schema registry's `_schemas`)
    compacted_topics: NotRequired[Sequence[str]]
    mode: NotRequired[str]  # "provisioned" | "serverless"
    kafka_version: NotRequired[str]
    broker_count: NotRequired[int]
    broker_instance_type: NotRequired[str]
    broker_volume_gb: NotRequired[int]


class Msk(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    cluster_name: str
    bootstrap_servers: pulumi.Output[str]
    topic_names: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: MskArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:streaming:Msk", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.cluster_name = naming.resource_name(args["prefix"], args["stack"], "kafka")
        cluster: aws.msk.Cluster | aws.msk.ServerlessCluster
        if args.get("mode", "provisioned") == "serverless":
            cluster = aws.msk.ServerlessCluster(
                self.cluster_name,
                cluster_name=self.cluster_name,
                client_authentication={"sasl": {"iam": {"enabled": True}}},
                vpc_configs=[{"subnet_ids": args["subnet_ids"], "security_group_ids": args["security_group_ids"]}],
                opts=child,
            )
        else:
            cluster = self._provisioned(args, child)
        self.arn = cluster.arn
        self.bootstrap_servers = cluster.bootstrap_brokers_sasl_iam
        topics = {
            topic: self._topic(topic, partitions, dict(DEFAULT_TOPIC_CONFIGS), child)
            for topic, partitions in args["topics"].items()
        }
        for topic in args.get("compacted_topics", ()):
            self._topic(topic, 1, {"cleanup.policy": "compact"}, child)
        self.topic_names = pulumi.Output.all(**{t: r.name for t, r in topics.items()})
        self.register_outputs({"arn": self.arn, "bootstrap_servers": self.bootstrap_servers})

    def _provisioned(self, args: MskArgs, opts: pulumi.ResourceOptions) -> aws.msk.Cluster:
        name = self.cluster_name
        key = aws.kms.Key(f"{name}-at-rest", description=f"{name}: MSK storage", enable_key_rotation=True, opts=opts)
        logs = aws.cloudwatch.LogGroup(f"{name}-brokers", name=f"/{name}/brokers", retention_in_days=30, opts=opts)
        configuration = aws.msk.Configuration(
            f"{name}-config",
            name=f"{name}-config",
            kafka_versions=[args.get("kafka_version", "3.8.x")],
            server_properties="".join(f"{k}={v}\n" for k, v in sorted(SERVER_PROPERTIES.items())),
            opts=opts,
        )
        return aws.msk.Cluster(
            name,
            cluster_name=name,
            kafka_version=args.get("kafka_version", "3.8.x"),
            number_of_broker_nodes=args.get("broker_count", 3),
            broker_node_group_info={
                "instance_type": args.get("broker_instance_type", "kafka.m7g.large"),
                "client_subnets": args["subnet_ids"],
                "security_groups": args["security_group_ids"],
                "storage_info": {"ebs_storage_info": {"volume_size": args.get("broker_volume_gb", 100)}},
                "connectivity_info": {"public_access": {"type": "DISABLED"}},
            },
            client_authentication={"sasl": {"iam": True, "scram": False}, "unauthenticated": False},
            encryption_info={
                "encryption_at_rest_kms_key_arn": key.arn,
                "encryption_in_transit": {"client_broker": "TLS", "in_cluster": True},
            },
            configuration_info={"arn": configuration.arn, "revision": configuration.latest_revision},
            logging_info={"broker_logs": {"cloudwatch_logs": {"enabled": True, "log_group": logs.name}}},
            opts=opts,
        )

    def _topic(
        self, topic: str, partitions: int, configs: dict[str, str], opts: pulumi.ResourceOptions
    ) -> aws.msk.Topic:
        return aws.msk.Topic(
            f"topic-{topic}",
            cluster_arn=self.arn,
            name=topic,
            partition_count=partitions,
            replication_factor=REPLICATION_FACTOR,
            configs=json.dumps({**configs, "min.insync.replicas": str(MIN_INSYNC_REPLICAS)}, sort_keys=True),
            opts=opts,
        )


def topic_arn(cluster_arn: str, topic: str) -> str:
    """`arn:aws:kafka:<region>:<account>:topic/<cluster>/<uuid>/<topic>` of a topic of the cluster (IAM policies)."""
    return cluster_arn.replace(":cluster/", ":topic/", 1) + f"/{topic}"


def group_arn(cluster_arn: str, group: str) -> str:
    return cluster_arn.replace(":cluster/", ":group/", 1) + f"/{group}"


def client_statements(
    cluster_arn: str, *, read: Sequence[str] = (), write: Sequence[str] = (), groups: Sequence[str] = ()
) -> list[dict]:
    """IAM statements for an MSK IAM client: connect to the cluster, read/write the named topics (`*` suffixes
    allowed), use the named consumer groups; nothing else (no topic creation or deletion)."""
    statements: list[dict] = [
        {
            "Sid": "ConnectToCluster",
            "Effect": "Allow",
            "Action": ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"],
            "Resource": cluster_arn,
        }
    ]
    if read:
        statements.append(
            {
                "Sid": "ReadTopics",
                "Effect": "Allow",
                "Action": ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
                "Resource": [topic_arn(cluster_arn, t) for t in read],
            }
        )
    if write:
        statements.append(
            {
                "Sid": "WriteTopics",
                "Effect": "Allow",
                "Action": ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
                "Resource": [topic_arn(cluster_arn, t) for t in write],
            }
        )
    if groups:
        statements.append(
            {
                "Sid": "UseGroups",
                "Effect": "Allow",
                "Action": ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
                "Resource": [group_arn(cluster_arn, g) for g in groups],
            }
        )
    return statements
