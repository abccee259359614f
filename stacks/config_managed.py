"""Config of the engines Kafka/Connect/registry and Airflow run on: containers (default), or AWS's managed
services (stack `prod`: `streaming: msk` with `orchestration: mwaa`), sized by the `msk*`, `connect*`,
`registry*` and `mwaa*` keys."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi

from components.managed_substrate_args import ManagedSizing
from stacks.config_checks import ConfigError, choice, integer
from stacks.config_docker import DEFAULT_IMAGES

#: the managed engines' sizing, as the stack config reads it
ManagedConfig = ManagedSizing
STREAMING_ENGINES = ("docker", "msk")
ORCHESTRATION_ENGINES = ("docker", "mwaa")
MSK_MODES = ("provisioned", "serverless")
DEFAULT_CONNECT_PLUGIN = "containers/connect/plugins/confluentinc-kafka-connect-s3-10.6.0.zip"


def engines(
    raw: Mapping[str, Any], *, on_docker: bool, region: str, mongodb_uri: pulumi.Output[str] | None, root: Path
) -> tuple[str, str, ManagedConfig | None]:
    """`streaming`, `orchestration`, and the managed engines' sizing where they are AWS's (None on Docker)."""
    streaming = choice(raw, "streaming", STREAMING_ENGINES)
    orchestration = choice(raw, "orchestration", ORCHESTRATION_ENGINES)
    if (streaming, orchestration) == ("docker", "docker"):
        return streaming, orchestration, None
    if (streaming, orchestration) != ("msk", "mwaa") or not on_docker:
        raise ConfigError("streaming", "the managed engines go together: streaming msk with orchestration mwaa")
    if mongodb_uri is None:
        raise ConfigError("mongodbUri", "missing; set it with `pulumi config set --secret mongodbUri <uri>`")
    return streaming, orchestration, sizing(raw, region, root)


def sizing(raw: Mapping[str, Any], region: str, root: Path) -> ManagedConfig:
    zones = raw.get("availabilityZones") or [f"{region}{z}" for z in "abc"]
    if not isinstance(zones, list) or len(zones) < 2 or not all(str(z).startswith(region) for z in zones):
        raise ConfigError("availabilityZones", f"expected a list of >= 2 zones of {region}")
    brokers = integer(raw, "mskBrokers", 3, low=2, high=30)
    if brokers % len(zones):
        raise ConfigError("mskBrokers", f"{brokers} is not a multiple of the {len(zones)} availability zones")
    mcu = integer(raw, "connectMcuCount", 1, low=1, high=8)
    if mcu not in (1, 2, 4, 8):
        raise ConfigError("connectMcuCount", f"{mcu} is not one of 1, 2, 4, 8")
    min_workers = integer(raw, "connectMinWorkers", 1, low=1, high=10)
    plugin = Path(str(raw.get("connectPluginPath") or DEFAULT_CONNECT_PLUGIN))
    return ManagedConfig(
        msk_mode=choice(raw, "mskMode", MSK_MODES),
        kafka_version=str(raw.get("mskKafkaVersion") or "3.8.x"),
        broker_count=brokers,
        broker_instance_type=str(raw.get("mskBrokerInstanceType") or "kafka.m7g.large"),
        broker_volume_gb=integer(raw, "mskBrokerVolumeGb", 100, low=1, high=16384),
        availability_zones=tuple(str(z) for z in zones),
        vpc_cidr=str(raw.get("vpcCidr") or "10.40.0.0/16"),
        connect_plugin_path=plugin if plugin.is_absolute() else root / plugin,
        connect_mcu_count=mcu,
        connect_min_workers=min_workers,
        connect_max_workers=integer(raw, "connectMaxWorkers", max(2, min_workers), low=min_workers, high=10),
        registry_image=str(raw.get("registryImage") or DEFAULT_IMAGES["schemaRegistry"]),
        registry_tasks=integer(raw, "registryTasks", 2, low=1, high=10),
        mwaa_environment_class=str(raw.get("mwaaEnvironmentClass") or "mw1.small"),
        mwaa_airflow_version=str(raw.get("mwaaAirflowVersion") or "3.0.6"),
        mwaa_max_workers=integer(raw, "mwaaMaxWorkers", 2, low=1, high=25),
    )
