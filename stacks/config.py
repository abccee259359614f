"""Typed stack configuration, read once from `pulumi.Config` and validated with errors that name the key.

Every key lives in the project namespace (`modern-data-pipeline:<key>`), set in `Pulumi.<stack>.yaml`.
`substrate` says what the platform objects are declared on: `docker` (default: the stack runs Kafka, Connect,
Airflow and, with `emulated`, the cloud emulators as containers) or `devstack` (devstack's processes, read
from `substrateOutputs`, default `$DEVSTACK_HOME/outputs.json` or `.devstack/outputs.json`, which `python -m
devstack up` writes). Only `awsRegion` and `gcpProject` are required, and not on `devstack` (its substrate
says them); everything else has a default that matches the seed.

`streaming` (`docker` | `msk`) and `orchestration` (`docker` | `mwaa`) choose the engines the `docker` substrate
runs Kafka/Connect/registry and Airflow on: containers (default), or AWS's managed services (stack `prod`:
MSK, MSK Connect, the registry on ECS Fargate, MWAA), sized by the `msk*`, `connect*`, `registry*` and `mwaa*`
keys (:class:`ManagedConfig`). The two go together: `msk` with `mwaa`.

By what they configure: the containers' ports and images in stacks/config_docker.py, the engines in
stacks/config_managed.py, the checks every value goes through in stacks/config_checks.py.
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
from stacks import config_docker, config_managed
from stacks.config_checks import ConfigError, boolean, choice, datasets, integer, required
from stacks.config_managed import ManagedConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
SUBSTRATES = ("docker", "devstack")
DEFAULT_SUBSTRATE_OUTPUTS = ".devstack/outputs.json"
#: the plugins the Docker stacks' Connect image may run (devstack publishes its own flavour)
S3_SINK_FLAVOURS = ("confluent", "aiven")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_GCP_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")


def default_substrate_outputs() -> Path:
    """Where devstack writes its outputs: in $DEVSTACK_HOME when that is set (the test suite's own devstack),
    else in the checkout's .devstack."""
    home = os.environ.get("DEVSTACK_HOME")
    return Path(home).resolve() / "outputs.json" if home else REPO_ROOT / DEFAULT_SUBSTRATE_OUTPUTS


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
    emulated = boolean(raw, "emulated", default=on_devstack)
    aws_region, gcp_project = _clouds(raw, on_devstack)
    prefix = str(raw.get("prefix") or naming.DEFAULT_PREFIX)
    try:
        naming.resource_name(prefix, stack, "x")
    except ValueError as exc:
        raise ConfigError("prefix", str(exc)) from None
    flavour = choice(raw, "s3SinkFlavour", S3_SINK_FLAVOURS)
    compatibility = _compatibility(raw)
    outputs_path = Path(str(raw["substrateOutputs"])) if raw.get("substrateOutputs") else default_substrate_outputs()
    streaming, orchestration, managed = config_managed.engines(
        raw, on_docker=not on_devstack and not emulated, region=aws_region, mongodb_uri=mongodb_uri, root=REPO_ROOT
    )
    return StackConfig(
        stack=stack,
        substrate=substrate,
        substrate_outputs=outputs_path if outputs_path.is_absolute() else REPO_ROOT / outputs_path,
        prefix=prefix,
        aws_region=aws_region,
        gcp_project=gcp_project,
        gcp_location=str(raw.get("gcpLocation") or "ASIA-SOUTHEAST1"),
        emulated=emulated,
        dynamodb_datasets=datasets(raw, "dynamodbDatasets", naming.DYNAMODB_DATASETS),
        topic_datasets=datasets(raw, "topicDatasets", DATASETS),
        topic_partitions=integer(raw, "topicPartitions", 3, low=1, high=1000),
        ports=config_docker.ports(raw.get("ports"), emulated),
        images=config_docker.images(raw.get("images")),
        s3_sink_flavour=flavour,
        s3_sink_flush_size=integer(raw, "s3SinkFlushSize", 3, low=1, high=1_000_000),
        # 0 turns wall-clock rotation off: objects are then cut by flush.size only (exactly-once object names)
        s3_sink_rotate_schedule_interval_ms=integer(
            raw, "s3SinkRotateScheduleIntervalMs", DEFAULT_ROTATE_SCHEDULE_INTERVAL_MS, low=0, high=86_400_000
        )
        or None,
        s3_sink_compression=choice(raw, "s3SinkCompression", COMPRESSIONS),
        subject_compatibility=compatibility,
        force_destroy=boolean(raw, "forceDestroy", default=emulated),
        mongodb_password=mongodb_password,
        streaming=streaming,
        orchestration=orchestration,
        managed=managed,
        mongodb_uri=mongodb_uri,
    )


def _clouds(raw: Mapping[str, Any], on_devstack: bool) -> tuple[str, str]:
    """`awsRegion` and `gcpProject`: required, except on devstack (its substrate says them)."""
    aws_region = required(raw, "awsRegion", default="us-east-1" if on_devstack else None)
    if not _REGION.match(aws_region):
        raise ConfigError("awsRegion", f"{aws_region!r} is not an AWS region name like 'ap-southeast-7'")
    gcp_project = required(raw, "gcpProject", default="kde-devstack" if on_devstack else None)
    if not _GCP_PROJECT.match(gcp_project):
        raise ConfigError("gcpProject", f"{gcp_project!r} is not a GCP project id (6-30 chars, a-z 0-9 -)")
    return aws_region, gcp_project


def _compatibility(raw: Mapping[str, Any]) -> str:
    from components.schema_subject import COMPATIBILITY_LEVELS

    compatibility = str(raw.get("subjectCompatibility") or "BACKWARD").upper()
    if compatibility not in COMPATIBILITY_LEVELS:
        raise ConfigError("subjectCompatibility", f"{compatibility!r} is not one of {', '.join(COMPATIBILITY_LEVELS)}")
    return compatibility


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
