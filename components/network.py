"""The private network of the managed engines (stack `prod`): a VPC with one private subnet per availability
zone and no internet route at all (no internet gateway, no NAT, no public subnet), an S3 gateway endpoint and
interface endpoints for the AWS APIs the services call, and one security group per service that admits only
the ports that service is reached on, and only from the services that reach it.

Who reaches whom: the MSK brokers take IAM/TLS clients (9098) from the Connect workers, the registry tasks and
MWAA; the registry tasks take 8081 from the registry's internal load balancer, which takes 80 from Connect and
MWAA; MWAA's own parts talk to each other (AWS's required self-reference); the interface endpoints take 443
from the services. Egress is limited to those ports inside the VPC, plus 443 (the VPC has no internet route:
443 reaches only the S3 gateway endpoint and the interface endpoints).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any, NotRequired, Required, TypedDict

import pulumi
import pulumi_aws as aws

from contract import naming

MSK_IAM_PORT = 9098
REGISTRY_PORT = 8081
REGISTRY_LB_PORT = 80
HTTPS = 443
#: the AWS APIs reached without internet: MWAA (airflow.*, sqs, monitoring, kms, logs), Fargate's image pulls
#: (ecr.*, logs), the workers' role credentials (sts) and the Airflow secrets backend (secretsmanager)
INTERFACE_ENDPOINTS = (
    "airflow.api",
    "airflow.env",
    "airflow.ops",
    "ecr.api",
    "ecr.dkr",
    "kms",
    "logs",
    "monitoring",
    "secretsmanager",
    "sqs",
    "sts",
)
#: the service security groups (`endpoints` is the interface endpoints' own)
CLIENT_ROLES = ("connect", "registry", "mwaa")


class NetworkArgs(TypedDict):
    prefix: Required[str]
    stack: Required[str]
    region: Required[str]
    cidr: Required[str]
    availability_zones: Required[Sequence[str]]
    interface_endpoints: NotRequired[Sequence[str]]


def _rule(port: int, *, to: int | None = None, protocol: str = "tcp", **source: Any) -> dict[str, Any]:
    return {"protocol": protocol, "from_port": port, "to_port": to if to is not None else port, **source}


class Network(pulumi.ComponentResource):
    vpc: aws.ec2.Vpc
    subnets: list[aws.ec2.Subnet]
    subnet_ids: pulumi.Output[list[str]]
    security_groups: dict[str, aws.ec2.SecurityGroup]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:network:Network", name, None, opts)
        prefix, stack, cidr = args["prefix"], args["stack"], args["cidr"]
        child = pulumi.ResourceOptions(parent=self)
        vpc_name = naming.resource_name(prefix, stack, "vpc")
        self.vpc = aws.ec2.Vpc(
            vpc_name,
            cidr_block=cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": vpc_name},
            opts=child,
        )
        blocks = list(ipaddress.ip_network(cidr).subnets(new_prefix=20))
        if len(blocks) < len(args["availability_zones"]):
            raise ValueError(f"{cidr}: too small for a /20 per availability zone")
        self.subnets = [
            aws.ec2.Subnet(
                f"{vpc_name}-private-{zone}",
                vpc_id=self.vpc.id,
                availability_zone=zone,
                cidr_block=str(block),
                map_public_ip_on_launch=False,
                tags={"Name": f"{vpc_name}-private-{zone}", "tier": "private"},
                opts=child,
            )
            for zone, block in zip(args["availability_zones"], blocks, strict=False)
        ]
        self.subnet_ids = pulumi.Output.all(*[s.id for s in self.subnets])
        routes = aws.ec2.RouteTable(
            f"{vpc_name}-private", vpc_id=self.vpc.id, tags={"Name": f"{vpc_name}-private"}, opts=child
        )
        for subnet in self.subnets:
            aws.ec2.RouteTableAssociation(
                f"{subnet._name}-routes", subnet_id=subnet.id, route_table_id=routes.id, opts=child
            )
        self.security_groups = self._security_groups(vpc_name, cidr, child)
        aws.ec2.VpcEndpoint(
            f"{vpc_name}-s3",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{args['region']}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[routes.id],
            opts=child,
        )
        for service in args.get("interface_endpoints", INTERFACE_ENDPOINTS):
            aws.ec2.VpcEndpoint(
                f"{vpc_name}-{service.replace('.', '-')}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{args['region']}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.subnet_ids,
                security_group_ids=[self.security_groups["endpoints"].id],
                opts=child,
            )
        self.register_outputs({"vpc_id": self.vpc.id, "subnet_ids": self.subnet_ids})

    def _security_groups(
        self, vpc_name: str, cidr: str, opts: pulumi.ResourceOptions
    ) -> dict[str, aws.ec2.SecurityGroup]:
        def group(role: str, description: str, ingress: list[Any], egress: list[Any]) -> aws.ec2.SecurityGroup:
            return aws.ec2.SecurityGroup(
                f"{vpc_name}-{role}",
                name=f"{vpc_name}-{role}",
                description=description,
                vpc_id=self.vpc.id,
                ingress=ingress,
                egress=egress,
                opts=opts,
            )

        inside = [cidr]
        anywhere_tls = _rule(HTTPS, cidr_blocks=["0.0.0.0/0"])  # the VPC has no internet route: endpoints only
        sgs: dict[str, aws.ec2.SecurityGroup] = {
            "connect": group(
                "connect",
                "MSK Connect workers",
                [],
                [_rule(MSK_IAM_PORT, cidr_blocks=inside), _rule(REGISTRY_LB_PORT, cidr_blocks=inside), anywhere_tls],
            ),
            "mwaa": group(
                "mwaa",
                "MWAA environment",
                [_rule(0, to=0, protocol="-1", self=True)],  # MWAA requires its parts to reach each other
                [
                    _rule(0, to=0, protocol="-1", self=True),
                    _rule(MSK_IAM_PORT, cidr_blocks=inside),
                    _rule(REGISTRY_LB_PORT, cidr_blocks=inside),
                    anywhere_tls,
                ],
            ),
        }
        sgs["registry-lb"] = group(
            "registry-lb",
            "schema registry internal load balancer: from Connect and MWAA",
            [_rule(REGISTRY_LB_PORT, security_groups=[sgs["connect"].id, sgs["mwaa"].id])],
            [_rule(REGISTRY_PORT, cidr_blocks=inside)],
        )
        sgs["registry"] = group(
            "registry",
            "schema registry tasks: from their load balancer",
            [_rule(REGISTRY_PORT, security_groups=[sgs["registry-lb"].id])],
            [_rule(MSK_IAM_PORT, cidr_blocks=inside), anywhere_tls],
        )
        clients = [sgs[r].id for r in CLIENT_ROLES]
        sgs["msk"] = group(
            "msk", "MSK brokers: IAM over TLS from the clients", [_rule(MSK_IAM_PORT, security_groups=clients)], []
        )
        sgs["endpoints"] = group(
            "endpoints", "interface endpoints: TLS from the services", [_rule(HTTPS, security_groups=clients)], []
        )
        return sgs
