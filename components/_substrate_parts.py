"""What the Docker and managed substrates share: the options of a child that was declared at the stack's root
before the substrates became components, and the two lakes both declare."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from components.aws_lake import AwsLake
from components.gcp_lake import GcpLake
from contract import naming


def moved_child(parent: pulumi.Resource, extra: pulumi.ResourceOptions | None = None) -> pulumi.ResourceOptions:
    """Options of a child the stack declared at its root before: the alias keeps its URN (and, as the engine
    derives aliases for descendants from their parent's, every URN beneath it), so nothing is replaced."""
    moved = pulumi.ResourceOptions(parent=parent, aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)])
    return pulumi.ResourceOptions.merge(moved, extra)


def aws_lake(
    parent: pulumi.Resource,
    provider: aws.Provider,
    *,
    prefix: str,
    stack: str,
    dynamodb_datasets: Sequence[str],
    force_destroy: bool,
    create_sink_user: bool,
) -> AwsLake:
    return AwsLake(
        "aws-lake",
        {
            "prefix": prefix,
            "stack": stack,
            "dynamodb_datasets": list(dynamodb_datasets),
            "force_destroy": force_destroy,
            "create_sink_user": create_sink_user,
            "sink_prefix": naming.S3_SINK_PREFIX,
        },
        moved_child(parent, pulumi.ResourceOptions(providers=[provider])),
    )


def gcp_lake(
    parent: pulumi.Resource,
    provider: gcp.Provider,
    *,
    prefix: str,
    stack: str,
    project: str,
    location: str,
    force_destroy: bool,
    emulated: bool = False,
) -> GcpLake:
    """The GCP lake; on emulators without BigQuery and the Firestore database (no admin API there)."""
    return GcpLake(
        "gcp-lake",
        {
            "prefix": prefix,
            "stack": stack,
            "project": project,
            "location": location,
            "force_destroy": force_destroy,
            "with_bigquery": not emulated,
            "with_firestore_database": not emulated,
        },
        moved_child(parent, pulumi.ResourceOptions(providers=[provider])),
    )
