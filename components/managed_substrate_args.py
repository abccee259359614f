"""What the managed substrate (components/managed_substrate.py) takes: its Args and the engines' sizing. Kept
apart from the component so the stack's config can build the sizing without importing the AWS SDK."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NotRequired, Required, TypedDict

import pulumi


@dataclass(frozen=True)
class ManagedSizing:
    """Sizing of the managed engines (stack `prod`; stacks.config reads it as `ManagedConfig`); the cost drivers
    are the brokers, MCUs and MWAA class."""

    msk_mode: str
    kafka_version: str
    broker_count: int  # a multiple of the availability zones
    broker_instance_type: str
    broker_volume_gb: int
    availability_zones: tuple[str, ...]
    vpc_cidr: str
    connect_plugin_path: Path  # the S3 sink plugin zip uploaded as the MSK Connect custom plugin
    connect_mcu_count: int  # MCUs per worker: 1, 2, 4 or 8
    connect_min_workers: int
    connect_max_workers: int
    registry_image: str  # a Confluent-API schema registry image the Fargate tasks can pull (ECR: no NAT)
    registry_tasks: int
    mwaa_environment_class: str
    mwaa_airflow_version: str
    mwaa_max_workers: int


class ManagedSubstrateArgs(TypedDict):
    prefix: Required[str]
    stack: Required[str]
    aws_region: Required[str]
    gcp_project: Required[str]
    gcp_location: Required[str]
    force_destroy: Required[bool]
    dynamodb_datasets: Required[Sequence[str]]
    topic_datasets: Required[Sequence[str]]
    topic_partitions: Required[int]
    subject_compatibility: Required[str]
    s3_sink_datasets: Required[Sequence[str]]  # the datasets whose topics the S3 sink writes to the lake
    s3_sink_flush_size: Required[int]
    s3_sink_rotate_schedule_interval_ms: NotRequired[int | None]
    s3_sink_compression: Required[str]
    mongodb_uri: Required[pulumi.Input[str]]  # the source MongoDB (the stack runs none here)
    sizing: Required[ManagedSizing]
    repo_root: Required[Path]  # the checkout: MWAA's DAGs and requirements are uploaded from it
