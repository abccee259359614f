"""What a stack declares its platform objects on: a `Substrate`, from one of three producers.

- `DockerSubstrate` (components/docker_substrate.py; stacks `dev`, `local`): the stack runs it itself.
- `devstack_substrate` (stack `devstack`): devstack's local processes, read from the outputs file devstack
  writes; the stack declares nothing of the substrate, only the platform objects on it.
- `ManagedSubstrate` (components/managed_substrate.py; stack `prod`): AWS's managed engines, which declare the
  topics and the S3 sink connector themselves (`Substrate.managed`) and take the Airflow settings as Secrets
  Manager secrets (`Substrate.airflow_settings`) instead of REST-API resources.

Either way the result has the same fields, so stacks/program.py declares the same topics, subjects, S3 sink
connector and Airflow settings on every stack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from components.airflow.settings import AirflowSettings
from contract.outputs import OutputsError, read_json_file, validate_substrate
from stacks.config import REPO_ROOT, StackConfig

S3_SINK_DATASETS = ("cards",)  # the seed's s3-sink-kde read `cards-data`
#: substrate outputs that are not stack outputs: consumed by the program itself
PROGRAM_ONLY_KEYS = ("s3_sink_flavour", "airflow_api")


@dataclass
class SinkTarget:
    """What the S3 sink connector needs to know of the substrate, as its Connect worker sees it."""

    flavour: str
    schema_registry_url: pulumi.Input[str]
    s3_endpoint: str | None


#: makes the stack's Airflow settings: `(name, args of components.airflow.settings.AirflowSettingsArgs)`
AirflowTarget = Callable[[str, Any], pulumi.ComponentResource]


@dataclass
class ManagedPlatform:
    """Platform objects that are AWS resources of the managed substrate (MSK topics, the MSK Connect sink)."""

    topic_names: pulumi.Output[dict[str, str]]
    connector_name: pulumi.Output[str]


@dataclass
class Substrate:
    #: the stack outputs the substrate defines (host view), keyed as in contract.outputs
    outputs: dict[str, Any]
    sink: SinkTarget
    #: the Airflow REST API the stack's Airflow resources talk to: {"url", "username", "password"}; None where
    #: the settings are not REST-API resources (MWAA)
    airflow_api: pulumi.Input[dict[str, str]] | None
    #: outputs as Airflow's workers see them, where that differs (container names on the Docker network)
    airflow_view: dict[str, Any] = field(default_factory=dict)
    #: what the platform objects wait for (the lake bucket the sink writes to)
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    #: where the stack's Airflow settings go: the REST-API resources, or (MWAA) Secrets Manager secrets
    airflow_settings: AirflowTarget = AirflowSettings
    #: set when the substrate declared the topics and the sink connector itself (managed engines)
    managed: ManagedPlatform | None = None
    #: SECRET: the Airflow connection carrying the BigQuery warehouse's key (components/warehouse.py); None where
    #: the warehouse is DuckDB and needs none
    warehouse_connection: pulumi.Input[dict[str, Any]] | None = None


def substrate_for(cfg: StackConfig) -> Substrate:
    if cfg.substrate == "devstack":
        return devstack_substrate(cfg)
    return managed_substrate(cfg) if cfg.managed is not None else docker_substrate(cfg)


def read_devstack_outputs(path: Path) -> dict[str, Any]:
    try:
        data = read_json_file(path, "devstack outputs", "start devstack first: `python -m devstack up`")
        return validate_substrate(data, str(path))
    except OutputsError as exc:
        raise pulumi.RunError(str(exc)) from None


def devstack_substrate(cfg: StackConfig) -> Substrate:
    found = read_devstack_outputs(cfg.substrate_outputs)
    outputs = {k: v for k, v in found.items() if k not in PROGRAM_ONLY_KEYS}
    outputs["kafka_auth"] = None  # devstack's brokers take plaintext clients
    outputs["aws_credentials"] = pulumi.Output.secret(found["aws_credentials"])
    outputs["mongodb_uri"] = pulumi.Output.secret(found["mongodb_uri"])
    # the Connect REST API's login: the stack's connector uses it, and consumers' throwaway connectors too
    outputs["kafka_connect_auth"] = pulumi.Output.secret(found["kafka_connect_auth"])
    # the worker has the S3 keys in its environment: the connector config references them (contract.s3_sink)
    sink = SinkTarget(
        flavour=found["s3_sink_flavour"],
        schema_registry_url=found["schema_registry_url"],
        s3_endpoint=found["endpoints"].get("s3"),
    )
    return Substrate(outputs=outputs, sink=sink, airflow_api=pulumi.Output.secret(found["airflow_api"]))


def docker_substrate(cfg: StackConfig) -> Substrate:
    from components.docker_substrate import DockerSubstrate

    docker = DockerSubstrate(
        "substrate",
        {
            "prefix": cfg.prefix,
            "stack": cfg.stack,
            "aws_region": cfg.aws_region,
            "gcp_project": cfg.gcp_project,
            "gcp_location": cfg.gcp_location,
            "emulated": cfg.emulated,
            "force_destroy": cfg.force_destroy,
            "dynamodb_datasets": cfg.dynamodb_datasets,
            "ports": cfg.ports,
            "images": cfg.images,
            "repo_root": str(REPO_ROOT),
            "mongodb_password": cfg.mongodb_password,
        },
    )
    return Substrate(
        outputs=docker.outputs,
        sink=SinkTarget(cfg.s3_sink_flavour, docker.sink_registry_url, docker.sink_s3_endpoint),
        airflow_api=docker.airflow_api,
        airflow_view=docker.airflow_view,
        depends_on=[docker.aws_lake, docker.streaming],
        warehouse_connection=docker.warehouse_connection,
    )


def managed_substrate(cfg: StackConfig) -> Substrate:
    from components.airflow.secrets import AirflowSecrets
    from components.managed_substrate import ManagedSubstrate

    assert cfg.managed is not None and cfg.mongodb_uri is not None  # stacks.config requires both here
    managed = ManagedSubstrate(
        "substrate",
        {
            "prefix": cfg.prefix,
            "stack": cfg.stack,
            "aws_region": cfg.aws_region,
            "gcp_project": cfg.gcp_project,
            "gcp_location": cfg.gcp_location,
            "force_destroy": cfg.force_destroy,
            "dynamodb_datasets": cfg.dynamodb_datasets,
            "topic_datasets": cfg.topic_datasets,
            "topic_partitions": cfg.topic_partitions,
            "subject_compatibility": cfg.subject_compatibility,
            "s3_sink_datasets": S3_SINK_DATASETS,
            "s3_sink_flush_size": cfg.s3_sink_flush_size,
            "s3_sink_rotate_schedule_interval_ms": cfg.s3_sink_rotate_schedule_interval_ms,
            "s3_sink_compression": cfg.s3_sink_compression,
            "mongodb_uri": cfg.mongodb_uri,
            "sizing": cfg.managed,
            "repo_root": REPO_ROOT,
        },
    )
    on_aws = pulumi.ResourceOptions(providers=[managed.aws_provider])
    return Substrate(
        outputs=managed.outputs,
        sink=SinkTarget(flavour="confluent", schema_registry_url=managed.schema_registry_url, s3_endpoint=None),
        airflow_api=None,
        airflow_settings=lambda name, args: AirflowSecrets(name, args, on_aws),
        managed=ManagedPlatform(topic_names=managed.topic_names, connector_name=managed.connector_name),
        warehouse_connection=managed.warehouse.connection,
    )
