"""Typed stack configuration, read once from `pulumi.Config` and validated with errors that name the key.

Every key lives in the project namespace (`modern-data-pipeline:<key>`), set in `Pulumi.<stack>.yaml`.
`substrate` says what the platform objects are declared on: `docker` (default: the stack runs Kafka, Connect,
Airflow and, with `emulated`, the cloud emulators as containers) or `devstack` (devstack's processes, read
from `substrateOutputs`, default `$DEVSTACK_HOME/outputs.json` or `.devstack/outputs.json`, which `python -m
devstack up` writes). Only
`awsRegion` and `gcpProject` are required, and not on `devstack` (its substrate says them); everything else has
a default that matches the seed.

`streaming` (`docker` | `msk`) and `orchestration` (`docker` | `mwaa`) choose the engines the `docker` substrate
runs Kafka/Connect/registry and Airflow on: containers (default), or AWS's managed services (stack `prod`:
MSK, MSK Connect, the registry on ECS Fargate, MWAA), sized by the `msk*`, `connect*`, `registry*` and `mwaa*`
keys (:class:`ManagedConfig`). The two go together: `msk` with `mwaa`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from contract import naming
from contract.outputs import PROJECT
from contract.s3_sink import COMPRESSIONS, DEFAULT_ROTATE_SCHEDULE_INTERVAL_MS
from schemas import DATASETS

REPO_ROOT = Path(__file__).resolve().parent.parent
SUBSTRATES = ("docker", "devstack")
STREAMING_ENGINES = ("docker", "msk")
ORCHESTRATION_ENGINES = ("docker", "mwaa")
MSK_MODES = ("provisioned", "serverless")
DEFAULT_CONNECT_PLUGIN = "containers/connect/plugins/confluentinc-kafka-connect-s3-10.6.0.zip"
DEFAULT_SUBSTRATE_OUTPUTS = ".devstack/outputs.json"


def default_substrate_outputs() -> Path:
    """Where devstack writes its outputs: in $DEVSTACK_HOME when that is set (the test suite's own devstack),
    else in the checkout's .devstack."""
    home = os.environ.get("DEVSTACK_HOME")
    return Path(home).resolve() / "outputs.json" if home else REPO_ROOT / DEFAULT_SUBSTRATE_OUTPUTS


#: the published host ports of the Docker services; the seed's defaults, minus its Airflow/console clash
DEFAULT_PORTS: dict[str, int] = {
    "kafka": 9092,
    "schemaRegistry": 8081,
    "restProxy": 8082,
    "connect": 8083,
    "console": 8085,
    "airflow": 8080,
    "mongodb": 27017,
    # emulators (stack `local` only)
    "moto": 5000,
    "gcs": 4443,
    "firestore": 8086,
}
EMULATOR_PORTS = frozenset({"moto", "gcs", "firestore"})

#: images pulled by the stacks (Connect and Airflow are built from containers/)
DEFAULT_IMAGES: dict[str, str] = {
    "kafka": "apache/kafka:3.9.1",
    "schemaRegistry": "confluentinc/cp-schema-registry:7.9.2",
    "restProxy": "confluentinc/cp-kafka-rest:7.9.2",
    "console": "redpandadata/console:v2.8.5",
    "postgres": "postgres:16.9",
    "mongodb": "mongo:7.0.21",
    "moto": "motoserver/moto:5.1.4",
    "gcs": "fsouza/fake-gcs-server:1.52.2",
    "firestore": "google/cloud-sdk:524.0.0-emulators",
}

#: the plugins the Docker stacks' Connect image may run (devstack publishes its own flavour)
S3_SINK_FLAVOURS = ("confluent", "aiven")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_GCP_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")


class ConfigError(ValueError):
    """A stack config value is missing or invalid; the message names the key to fix."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config {PROJECT}:{key}: {problem}")
        self.key = key


@dataclass(frozen=True)
class ManagedConfig:
    """Sizing of the managed engines (stack `prod`); the cost drivers are the brokers, MCUs and MWAA class."""

    msk_mode: str  # "provisioned" | "serverless"
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


@dataclass(frozen=True)
class StackConfig:
    stack: str
    substrate: str  # "docker" | "devstack"
    substrate_outputs: Path  # devstack's outputs file (substrate `devstack`)
    prefix: str
    aws_region: str
    gcp_project: str
    gcp_location: str
    emulated: bool  # True: AWS/GCP providers point at emulator containers this stack runs (stack `local`)
    dynamodb_datasets: tuple[str, ...]
    topic_datasets: tuple[str, ...]
    topic_partitions: int
    ports: dict[str, int]
    images: dict[str, str]
    s3_sink_flavour: str
    s3_sink_flush_size: int
    subject_compatibility: str
    force_destroy: bool
    mongodb_password: pulumi.Output[str] | None = field(default=None, compare=False)
    streaming: str = "docker"  # "docker" | "msk"
    orchestration: str = "docker"  # "docker" | "mwaa"
    managed: ManagedConfig | None = None  # set when streaming/orchestration are the managed engines
    #: the source MongoDB's URI where the stack runs none (managed engines), secret config `mongodbUri`
    mongodb_uri: pulumi.Output[str] | None = field(default=None, compare=False)
    #: the S3 sink writes what a partition holds at each multiple of this wall-clock interval; None: off
    s3_sink_rotate_schedule_interval_ms: int | None = DEFAULT_ROTATE_SCHEDULE_INTERVAL_MS
    s3_sink_compression: str = "none"


def parse(
    stack: str,
    raw: Mapping[str, Any],
    mongodb_password: pulumi.Output[str] | None = None,
    mongodb_uri: pulumi.Output[str] | None = None,
) -> StackConfig:
    """Validate raw config values (strings, or parsed objects for structured keys) into a StackConfig."""
    substrate = str(raw.get("substrate") or "docker")
    if substrate not in SUBSTRATES:
        raise ConfigError("substrate", f"{substrate!r} is not one of {', '.join(SUBSTRATES)}")
    on_devstack = substrate == "devstack"
    emulated = _bool(raw, "emulated", default=on_devstack)
    aws_region = _required(raw, "awsRegion", default="us-east-1" if on_devstack else None)
    if not _REGION.match(aws_region):
        raise ConfigError("awsRegion", f"{aws_region!r} is not an AWS region name like 'ap-southeast-7'")
    gcp_project = _required(raw, "gcpProject", default="kde-devstack" if on_devstack else None)
    if not _GCP_PROJECT.match(gcp_project):
        raise ConfigError("gcpProject", f"{gcp_project!r} is not a GCP project id (6-30 chars, a-z 0-9 -)")
    prefix = str(raw.get("prefix") or naming.DEFAULT_PREFIX)
    try:
        naming.resource_name(prefix, stack, "x")
    except ValueError as exc:
        raise ConfigError("prefix", str(exc)) from None
    flavour = str(raw.get("s3SinkFlavour") or "confluent")
    if flavour not in S3_SINK_FLAVOURS:
        raise ConfigError("s3SinkFlavour", f"{flavour!r} is not one of {', '.join(S3_SINK_FLAVOURS)}")
    compatibility = str(raw.get("subjectCompatibility") or "BACKWARD").upper()
    from components.schema_subject import COMPATIBILITY_LEVELS

    if compatibility not in COMPATIBILITY_LEVELS:
        raise ConfigError("subjectCompatibility", f"{compatibility!r} is not one of {', '.join(COMPATIBILITY_LEVELS)}")
    outputs_path = Path(str(raw["substrateOutputs"])) if raw.get("substrateOutputs") else default_substrate_outputs()
    streaming = _choice(raw, "streaming", STREAMING_ENGINES)
    orchestration = _choice(raw, "orchestration", ORCHESTRATION_ENGINES)
    managed = None
    if (streaming, orchestration) != ("docker", "docker"):
        if (streaming, orchestration) != ("msk", "mwaa") or substrate != "docker" or emulated:
            raise ConfigError("streaming", "the managed engines go together: streaming msk with orchestration mwaa")
        if mongodb_uri is None:
            raise ConfigError("mongodbUri", "missing; set it with `pulumi config set --secret mongodbUri <uri>`")
        managed = _managed(raw, aws_region)
    return StackConfig(
        stack=stack,
        substrate=substrate,
        substrate_outputs=outputs_path if outputs_path.is_absolute() else REPO_ROOT / outputs_path,
        prefix=prefix,
        aws_region=aws_region,
        gcp_project=gcp_project,
        gcp_location=str(raw.get("gcpLocation") or "ASIA-SOUTHEAST1"),
        emulated=emulated,
        dynamodb_datasets=_datasets(raw, "dynamodbDatasets", naming.DYNAMODB_DATASETS),
        topic_datasets=_datasets(raw, "topicDatasets", DATASETS),
        topic_partitions=_int(raw, "topicPartitions", 3, low=1, high=1000),
        ports=_ports(raw.get("ports"), emulated),
        images=_images(raw.get("images")),
        s3_sink_flavour=flavour,
        s3_sink_flush_size=_int(raw, "s3SinkFlushSize", 3, low=1, high=1_000_000),
        # 0 turns wall-clock rotation off: objects are then cut by flush.size only (exactly-once object names)
        s3_sink_rotate_schedule_interval_ms=_int(
            raw, "s3SinkRotateScheduleIntervalMs", DEFAULT_ROTATE_SCHEDULE_INTERVAL_MS, low=0, high=86_400_000
        )
        or None,
        s3_sink_compression=_choice(raw, "s3SinkCompression", COMPRESSIONS),
        subject_compatibility=compatibility,
        force_destroy=_bool(raw, "forceDestroy", default=emulated),
        mongodb_password=mongodb_password,
        streaming=streaming,
        orchestration=orchestration,
        managed=managed,
        mongodb_uri=mongodb_uri,
    )


def _managed(raw: Mapping[str, Any], region: str) -> ManagedConfig:
    zones = raw.get("availabilityZones") or [f"{region}{z}" for z in "abc"]
    if not isinstance(zones, list) or len(zones) < 2 or not all(str(z).startswith(region) for z in zones):
        raise ConfigError("availabilityZones", f"expected a list of >= 2 zones of {region}")
    brokers = _int(raw, "mskBrokers", 3, low=2, high=30)
    if brokers % len(zones):
        raise ConfigError("mskBrokers", f"{brokers} is not a multiple of the {len(zones)} availability zones")
    mcu = _int(raw, "connectMcuCount", 1, low=1, high=8)
    if mcu not in (1, 2, 4, 8):
        raise ConfigError("connectMcuCount", f"{mcu} is not one of 1, 2, 4, 8")
    min_workers = _int(raw, "connectMinWorkers", 1, low=1, high=10)
    plugin = Path(str(raw.get("connectPluginPath") or DEFAULT_CONNECT_PLUGIN))
    return ManagedConfig(
        msk_mode=_choice(raw, "mskMode", MSK_MODES),
        kafka_version=str(raw.get("mskKafkaVersion") or "3.8.x"),
        broker_count=brokers,
        broker_instance_type=str(raw.get("mskBrokerInstanceType") or "kafka.m7g.large"),
        broker_volume_gb=_int(raw, "mskBrokerVolumeGb", 100, low=1, high=16384),
        availability_zones=tuple(str(z) for z in zones),
        vpc_cidr=str(raw.get("vpcCidr") or "10.40.0.0/16"),
        connect_plugin_path=plugin if plugin.is_absolute() else REPO_ROOT / plugin,
        connect_mcu_count=mcu,
        connect_min_workers=min_workers,
        connect_max_workers=_int(raw, "connectMaxWorkers", max(2, min_workers), low=min_workers, high=10),
        registry_image=str(raw.get("registryImage") or DEFAULT_IMAGES["schemaRegistry"]),
        registry_tasks=_int(raw, "registryTasks", 2, low=1, high=10),
        mwaa_environment_class=str(raw.get("mwaaEnvironmentClass") or "mw1.small"),
        mwaa_airflow_version=str(raw.get("mwaaAirflowVersion") or "3.0.6"),
        mwaa_max_workers=_int(raw, "mwaaMaxWorkers", 2, low=1, high=25),
    )


def _choice(raw: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = str(raw.get(key) or choices[0])
    if value not in choices:
        raise ConfigError(key, f"{value!r} is not one of {', '.join(choices)}")
    return value


STRUCTURED_KEYS = ("ports", "images", "dynamodbDatasets", "topicDatasets", "availabilityZones")
PLAIN_KEYS = (
    "substrate",
    "substrateOutputs",
    "awsRegion",
    "gcpProject",
    "gcpLocation",
    "prefix",
    "emulated",
    "topicPartitions",
    "s3SinkFlavour",
    "s3SinkFlushSize",
    "s3SinkRotateScheduleIntervalMs",
    "s3SinkCompression",
    "subjectCompatibility",
    "forceDestroy",
    "streaming",
    "orchestration",
    "mskMode",
    "mskKafkaVersion",
    "mskBrokers",
    "mskBrokerInstanceType",
    "mskBrokerVolumeGb",
    "vpcCidr",
    "connectPluginPath",
    "connectMcuCount",
    "connectMinWorkers",
    "connectMaxWorkers",
    "registryImage",
    "registryTasks",
    "mwaaEnvironmentClass",
    "mwaaAirflowVersion",
    "mwaaMaxWorkers",
)


def from_pulumi() -> StackConfig:
    """The running stack's config (`pulumi.Config()` of this project)."""
    cfg = pulumi.Config(PROJECT)
    raw: dict[str, Any] = {key: cfg.get(key) for key in PLAIN_KEYS}
    for key in STRUCTURED_KEYS:
        try:
            raw[key] = cfg.get_object(key)
        except Exception as exc:  # pulumi raises a JSON error without the key
            raise ConfigError(key, f"not valid JSON/YAML structure ({exc})") from None
    return parse(
        pulumi.get_stack(),
        raw,
        mongodb_password=cfg.get_secret("mongodbPassword"),
        mongodb_uri=cfg.get_secret("mongodbUri"),
    )


def _required(raw: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = raw.get(key) or default
    if value is None or str(value).strip() == "":
        raise ConfigError(key, f"missing; set it with `pulumi config set {key} <value>`")
    return str(value).strip()


def _bool(raw: Mapping[str, Any], key: str, *, default: bool) -> bool:
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ConfigError(key, f"{value!r} is not true or false")


def _int(raw: Mapping[str, Any], key: str, default: int, *, low: int, high: int) -> int:
    value = raw.get(key)
    if value is None:
        return default
    return _bounded_int(key, value, low, high)


def _bounded_int(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise ConfigError(key, f"{value!r} is not an integer")
    try:
        number = int(str(value))
    except ValueError:
        raise ConfigError(key, f"{value!r} is not an integer") from None
    if not low <= number <= high:
        raise ConfigError(key, f"{number} is outside {low}..{high}")
    return number


def _datasets(raw: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, list) or not value:
        raise ConfigError(key, "expected a non-empty list of dataset ids")
    unknown = [d for d in value if d not in DATASETS]
    if unknown:
        raise ConfigError(key, f"unknown dataset(s) {', '.join(map(str, unknown))}; known: {', '.join(DATASETS)}")
    return tuple(value)


def _ports(value: Any, emulated: bool) -> dict[str, int]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError("ports", "expected a map of service name to host port")
    unknown = sorted(set(value) - set(DEFAULT_PORTS))
    if unknown:
        raise ConfigError(f"ports.{unknown[0]}", f"unknown service; known: {', '.join(DEFAULT_PORTS)}")
    ports = {
        name: _bounded_int(f"ports.{name}", port, 1024, 65535) for name, port in {**DEFAULT_PORTS, **value}.items()
    }
    in_use = {name: port for name, port in ports.items() if emulated or name not in EMULATOR_PORTS}
    seen: dict[int, str] = {}
    for name, port in in_use.items():
        if port in seen:
            raise ConfigError(f"ports.{name}", f"port {port} is already used by ports.{seen[port]}")
        seen[port] = name
    return in_use


def _images(value: Any) -> dict[str, str]:
    if value is None:
        return dict(DEFAULT_IMAGES)
    if not isinstance(value, dict):
        raise ConfigError("images", "expected a map of service name to image reference")
    unknown = sorted(set(value) - set(DEFAULT_IMAGES))
    if unknown:
        raise ConfigError(f"images.{unknown[0]}", f"unknown image; known: {', '.join(DEFAULT_IMAGES)}")
    return {**DEFAULT_IMAGES, **{k: str(v) for k, v in value.items()}}


def file_config(stack: str, root: Path = REPO_ROOT) -> tuple[dict[str, str], list[str]]:
    """`Pulumi.<stack>.yaml` as runtime config (`project:key` -> string, structured values as JSON) and the
    keys whose values are `secure:` (encrypted by the secrets provider of whoever wrote them)."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml")))
        raise FileNotFoundError(f"{path.name}: no such stack config (stacks: {known})")
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    config, secure = {}, []
    for key, value in (document.get("config") or {}).items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[full_key] = str(value["secure"])
            secure.append(full_key)
        elif isinstance(value, str):
            config[full_key] = value
        else:
            config[full_key] = json.dumps(value)
    return config, secure
