"""A Confluent-API schema registry for the managed engines (stack `prod`): Confluent Schema Registry on ECS
Fargate in the private subnets, no public IP, behind an internal Application Load Balancer that only the Connect
workers and MWAA reach (components/network.py), its schemas in the compacted MSK topic `_schemas` (IAM auth).

Why this and not AWS Glue Schema Registry: the producer, the loaders and the sink's JsonSchemaConverter all
speak the Confluent API (confluent-kafka's serializers against `schema_registry_url`, the Confluent wire format
with a 4-byte schema id); Glue's registry needs its own serializers (Java, or no maintained Python library for
confluent-kafka) and another wire format, so every client would change. Here nothing does, and the stack's
subjects are created by the same dynamic resource as on every other stack (components/schema_subject/).

The image must hold the `aws-msk-iam-auth` jar (the stock image has none) and be pullable without internet:
the VPC has no NAT, so it comes from ECR (`registryImage`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NotRequired, Required, TypedDict

import pulumi
import pulumi_aws as aws

from components.msk import client_statements, topic_arn
from components.network import REGISTRY_LB_PORT, REGISTRY_PORT
from contract import naming

SCHEMAS_TOPIC = "_schemas"
REGISTRY_GROUP = "schema-registry"
IAM_CALLBACK_HANDLER = "software.amazon.msk.auth.iam.IAMClientCallbackHandler"
TASK_EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


class RegistryFargateArgs(TypedDict):
    prefix: Required[str]
    stack: Required[str]
    region: Required[str]
    image: Required[str]
    vpc_id: Required[pulumi.Input[str]]
    subnet_ids: Required[pulumi.Input[Sequence[str]]]
    lb_security_group_id: Required[pulumi.Input[str]]
    task_security_group_id: Required[pulumi.Input[str]]
    bootstrap_servers: Required[pulumi.Input[str]]
    cluster_arn: Required[pulumi.Input[str]]
    tasks: NotRequired[int]
    cpu: NotRequired[int]
    memory: NotRequired[int]


class RegistryFargate(pulumi.ComponentResource):
    url: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryFargateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:streaming:RegistryFargate", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        base = naming.resource_name(args["prefix"], args["stack"], "schema-registry")
        cluster = aws.ecs.Cluster(base, name=base, opts=child)
        logs = aws.cloudwatch.LogGroup(base, name=f"/{base}", retention_in_days=30, opts=child)
        tasks_trust = json.dumps(_assumed_by("ecs-tasks.amazonaws.com"))
        execution = aws.iam.Role(
            f"{base}-execution", name=f"{base}-execution", assume_role_policy=tasks_trust, opts=child
        )
        aws.iam.RolePolicyAttachment(
            f"{base}-execution", role=execution.name, policy_arn=TASK_EXECUTION_POLICY, opts=child
        )
        task_role = aws.iam.Role(f"{base}-task", name=f"{base}-task", assume_role_policy=tasks_trust, opts=child)
        aws.iam.RolePolicy(
            f"{base}-task-kafka",
            role=task_role.id,
            policy=pulumi.Output.from_input(args["cluster_arn"]).apply(lambda arn: json.dumps(registry_policy(arn))),
            opts=child,
        )
        task = aws.ecs.TaskDefinition(
            base,
            family=base,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(args.get("cpu", 512)),
            memory=str(args.get("memory", 1024)),
            execution_role_arn=execution.arn,
            task_role_arn=task_role.arn,
            container_definitions=pulumi.Output.all(args["bootstrap_servers"], logs.name).apply(
                lambda a: json.dumps([_container(args["image"], a[0], a[1], args["region"])])
            ),
            opts=child,
        )
        balancer = aws.lb.LoadBalancer(
            base,
            name=base[:32],
            internal=True,
            load_balancer_type="application",
            subnets=args["subnet_ids"],
            security_groups=[args["lb_security_group_id"]],
            drop_invalid_header_fields=True,
            opts=child,
        )
        targets = aws.lb.TargetGroup(
            base,
            name=base[:32],
            port=REGISTRY_PORT,
            protocol="HTTP",
            target_type="ip",
            vpc_id=args["vpc_id"],
            health_check={"path": "/subjects", "matcher": "200"},
            opts=child,
        )
        listener = aws.lb.Listener(
            base,
            load_balancer_arn=balancer.arn,
            port=REGISTRY_LB_PORT,
            protocol="HTTP",
            default_actions=[{"type": "forward", "target_group_arn": targets.arn}],
            opts=child,
        )
        aws.ecs.Service(
            base,
            name=base,
            cluster=cluster.arn,
            task_definition=task.arn,
            desired_count=args.get("tasks", 2),
            launch_type="FARGATE",
            network_configuration={
                "subnets": args["subnet_ids"],
                "security_groups": [args["task_security_group_id"]],
                "assign_public_ip": False,
            },
            load_balancers=[
                {"target_group_arn": targets.arn, "container_name": "schema-registry", "container_port": REGISTRY_PORT}
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[listener]),
        )
        self.url = pulumi.Output.concat("http://", balancer.dns_name)
        self.register_outputs({"url": self.url})


def _assumed_by(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def registry_policy(cluster_arn: str) -> dict[str, Any]:
    """The registry tasks: their `_schemas` topic (read and write, never create) and their group."""
    statements = client_statements(cluster_arn, read=[SCHEMAS_TOPIC], write=[SCHEMAS_TOPIC], groups=[REGISTRY_GROUP])
    statements.append(
        {
            "Sid": "DescribeSchemasTopicConfig",
            "Effect": "Allow",
            "Action": ["kafka-cluster:DescribeTopicDynamicConfiguration"],
            "Resource": topic_arn(cluster_arn, SCHEMAS_TOPIC),
        }
    )
    return {"Version": "2012-10-17", "Statement": statements}


def _container(image: str, bootstrap: str, log_group: str, region: str) -> dict[str, Any]:
    env = {
        "SCHEMA_REGISTRY_LISTENERS": f"http://0.0.0.0:{REGISTRY_PORT}",
        "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS": bootstrap,
        "SCHEMA_REGISTRY_KAFKASTORE_TOPIC": SCHEMAS_TOPIC,
        "SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR": "3",
        "SCHEMA_REGISTRY_KAFKASTORE_SECURITY_PROTOCOL": "SASL_SSL",
        "SCHEMA_REGISTRY_KAFKASTORE_SASL_MECHANISM": "AWS_MSK_IAM",
        "SCHEMA_REGISTRY_KAFKASTORE_SASL_JAAS_CONFIG": "software.amazon.msk.auth.iam.IAMLoginModule required;",
        "SCHEMA_REGISTRY_KAFKASTORE_SASL_CLIENT_CALLBACK_HANDLER_CLASS": IAM_CALLBACK_HANDLER,
        "SCHEMA_REGISTRY_KAFKASTORE_GROUP_ID": REGISTRY_GROUP,
    }
    return {
        "name": "schema-registry",
        "image": image,
        "essential": True,
        # leader election needs each task's own address: the task's private IP, known only at start
        "entryPoint": ["sh", "-c"],
        "command": ["export SCHEMA_REGISTRY_HOST_NAME=$(hostname -i) && exec /etc/confluent/docker/run"],
        "portMappings": [{"containerPort": REGISTRY_PORT, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(env.items())],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": "registry"},
        },
    }
