"""What a stack declares its platform objects on: a `Substrate`, from one of two producers.

- `docker_substrate` (stacks `dev`, `local`): the stack runs it itself. The AWS/GCP lake (real clouds, or
  emulator containers with `emulated`), MongoDB, the streaming platform and Airflow as Docker containers.
- `devstack_substrate` (stack `devstack`): devstack's local processes, read from the outputs file devstack
  writes; the stack declares nothing of the substrate, only the platform objects on it.

Either way the result has the same fields, so stacks/program.py declares the same topics, subjects, S3 sink
connector and Airflow settings on every stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from contract import naming
from contract.outputs import OutputsError, read_json_file, validate_substrate
from stacks.config import REPO_ROOT, StackConfig

#: substrate outputs that are not stack outputs: consumed by the program itself
PROGRAM_ONLY_KEYS = ("s3_sink_flavour", "airflow_api")


@dataclass
class SinkTarget:
    """What the S3 sink connector needs to know of the substrate, as its Connect worker sees it."""

    flavour: str
    schema_registry_url: pulumi.Input[str]
    s3_endpoint: str | None
    access_key_id: pulumi.Input[str] | None = None  # literal keys: the devstack flavour only
    secret_access_key: pulumi.Input[str] | None = None


@dataclass
class Substrate:
    #: the stack outputs the substrate defines (host view), keyed as in contract.outputs
    outputs: dict[str, Any]
    sink: SinkTarget
    #: the Airflow REST API the stack's Airflow resources talk to: {"url", "username", "password"}
    airflow_api: pulumi.Input[dict[str, str]]
    #: outputs as Airflow's workers see them, where that differs (container names on the Docker network)
    airflow_view: dict[str, Any] = field(default_factory=dict)
    #: what the platform objects wait for (the lake bucket the sink writes to)
    depends_on: list[pulumi.Resource] = field(default_factory=list)


def substrate_for(cfg: StackConfig) -> Substrate:
    return devstack_substrate(cfg) if cfg.substrate == "devstack" else docker_substrate(cfg)


# --- devstack -------------------------------------------------------------------------------------------


def read_devstack_outputs(path: Path) -> dict[str, Any]:
    try:
        data = read_json_file(path, "devstack outputs", "start devstack first: `python -m devstack up`")
        return validate_substrate(data, str(path))
    except OutputsError as exc:
        raise pulumi.RunError(str(exc)) from None


def devstack_substrate(cfg: StackConfig) -> Substrate:
    found = read_devstack_outputs(cfg.substrate_outputs)
    outputs = {k: v for k, v in found.items() if k not in PROGRAM_ONLY_KEYS}
    outputs["aws_credentials"] = pulumi.Output.secret(found["aws_credentials"])
    outputs["mongodb_uri"] = pulumi.Output.secret(found["mongodb_uri"])
    creds = found["aws_credentials"] or {}
    sink = SinkTarget(
        flavour=found["s3_sink_flavour"],
        schema_registry_url=found["schema_registry_url"],
        s3_endpoint=found["endpoints"].get("s3"),
        access_key_id=creds.get("access_key_id"),
        secret_access_key=pulumi.Output.secret(creds["secret_access_key"]) if creds else None,
    )
    return Substrate(outputs=outputs, sink=sink, airflow_api=pulumi.Output.secret(found["airflow_api"]))


# --- Docker (and the clouds or their emulators) ---------------------------------------------------------


def docker_substrate(cfg: StackConfig) -> Substrate:
    from components import emulators as emu
    from components.gcp_lake import GcpLake
    from components.mongodb import MongoDb
    from components.orchestration import Orchestration
    from components.streaming import INTERNAL_BOOTSTRAP, INTERNAL_CONNECT_URL, INTERNAL_REGISTRY_URL, StreamingPlatform

    prefix, stack = cfg.prefix, cfg.stack
    aws_provider: aws.Provider | None = None
    gcp_provider: gcp.Provider | None = None
    if not cfg.emulated:
        aws_provider = aws.Provider("aws", region=cfg.aws_region)
        gcp_provider = gcp.Provider("gcp", project=cfg.gcp_project, region=cfg.gcp_location.lower())
        aws_lake = _aws_lake(cfg, aws_provider, create_sink_user=True)
        key_id: pulumi.Input[str] = aws_lake.sink_access_key_id or ""
        secret_key: pulumi.Input[str] = aws_lake.sink_secret_access_key or ""
    else:
        key_id, secret_key = emu.FAKE_ACCESS_KEY_ID, pulumi.Output.secret(emu.FAKE_SECRET_ACCESS_KEY)
    streaming = StreamingPlatform(
        "streaming",
        {
            "prefix": prefix,
            "stack": stack,
            "ports": cfg.ports,
            "images": cfg.images,
            "connect_context": str(REPO_ROOT / "containers" / "connect"),
            "connect_env": {
                "AWS_REGION": cfg.aws_region,
                "AWS_ACCESS_KEY_ID": key_id,
                "AWS_SECRET_ACCESS_KEY": secret_key,
            },
        },
    )
    endpoints: pulumi.Input[dict[str, str]] = {}
    internal_endpoints: dict[str, str] = {}
    if cfg.emulated:
        emulators = emu.Emulators(
            "emulators",
            {
                "prefix": prefix,
                "stack": stack,
                "network": streaming.network,
                "ports": cfg.ports,
                "images": cfg.images,
                "aws_region": cfg.aws_region,
                "gcp_project": cfg.gcp_project,
            },
        )
        aws_provider, gcp_provider = emulators.aws_provider, emulators.gcp_provider
        aws_lake = _aws_lake(cfg, aws_provider, create_sink_user=False)
        endpoints = emulators.endpoints
        internal_endpoints = {
            "s3": emu.MOTO_INTERNAL_URL,
            "dynamodb": emu.MOTO_INTERNAL_URL,
            "gcs": emu.GCS_INTERNAL_URL,
            "firestore": emu.FIRESTORE_INTERNAL_HOST,
        }
    assert gcp_provider is not None  # set by the cloud or the emulated branch
    gcp_lake = GcpLake(
        "gcp-lake",
        {
            "prefix": prefix,
            "stack": stack,
            "project": cfg.gcp_project,
            "location": cfg.gcp_location,
            "force_destroy": cfg.force_destroy,
            "with_bigquery": not cfg.emulated,
            "with_firestore_database": not cfg.emulated,
        },
        pulumi.ResourceOptions(providers=[gcp_provider]),
    )
    mongo = MongoDb(
        "mongodb",
        {
            "prefix": prefix,
            "stack": stack,
            "network": streaming.network,
            "port": cfg.ports["mongodb"],
            "image": cfg.images["mongodb"],
            "password": cfg.mongodb_password,
        },
    )
    orchestration = Orchestration(
        "orchestration",
        {
            "prefix": prefix,
            "stack": stack,
            "network": streaming.network,
            "port": cfg.ports["airflow"],
            "postgres_image": cfg.images["postgres"],
            "build_context": str(REPO_ROOT),
            "dockerfile": str(REPO_ROOT / "containers" / "airflow" / "Dockerfile"),
            "dags_dir": str(REPO_ROOT / "pipelines" / "dags"),
            "env": _airflow_env(cfg),
        },
    )
    emulated_creds = {"access_key_id": emu.FAKE_ACCESS_KEY_ID, "secret_access_key": emu.FAKE_SECRET_ACCESS_KEY}
    outputs: dict[str, Any] = {
        "aws_region": cfg.aws_region,
        "gcp_project": cfg.gcp_project,
        "endpoints": endpoints,
        "aws_credentials": pulumi.Output.secret(emulated_creds) if cfg.emulated else None,
        "s3_buckets": aws_lake.bucket_names,
        "dynamodb_tables": aws_lake.table_names,
        "gcs_buckets": gcp_lake.bucket_names,
        "bigquery_datasets": gcp_lake.dataset_ids,
        "firestore_database": gcp_lake.firestore_database,
        "mongodb_uri": mongo.uri,
        "kafka_bootstrap_servers": streaming.bootstrap_servers,
        "schema_registry_url": streaming.schema_registry_url,
        "kafka_connect_url": streaming.connect_url,
        "kafka_rest_proxy_url": streaming.rest_proxy_url,
        "kafka_console_url": streaming.console_url,
        "airflow_url": orchestration.url,
    }
    sink = SinkTarget(
        flavour=cfg.s3_sink_flavour,
        schema_registry_url=INTERNAL_REGISTRY_URL,
        s3_endpoint=emu.MOTO_INTERNAL_URL if cfg.emulated else None,
    )
    airflow_view = {
        "endpoints": internal_endpoints,
        "mongodb_uri": mongo.internal_uri,
        "kafka_bootstrap_servers": INTERNAL_BOOTSTRAP,
        "schema_registry_url": INTERNAL_REGISTRY_URL,
        "kafka_connect_url": INTERNAL_CONNECT_URL,
    }
    return Substrate(
        outputs=outputs,
        sink=sink,
        airflow_api=orchestration.api,
        airflow_view=airflow_view,
        depends_on=[aws_lake, streaming],
    )


def _airflow_env(cfg: StackConfig) -> dict[str, pulumi.Input[str]]:
    """What Airflow's workers need beyond the stack's Airflow settings: the region, and on emulators the
    emulators' addresses on the stack network (the AWS and GCP clients' own environment switches)."""
    from components import emulators as emu

    env: dict[str, pulumi.Input[str]] = {"AWS_DEFAULT_REGION": cfg.aws_region}
    if cfg.emulated:
        env.update(
            {
                "AWS_ENDPOINT_URL": emu.MOTO_INTERNAL_URL,
                "AWS_ACCESS_KEY_ID": emu.FAKE_ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": pulumi.Output.secret(emu.FAKE_SECRET_ACCESS_KEY),
                "STORAGE_EMULATOR_HOST": emu.GCS_INTERNAL_URL,
                "FIRESTORE_EMULATOR_HOST": emu.FIRESTORE_INTERNAL_HOST,
            }
        )
    return env


def _aws_lake(cfg: StackConfig, provider: aws.Provider, *, create_sink_user: bool) -> Any:
    from components.aws_lake import AwsLake

    return AwsLake(
        "aws-lake",
        {
            "prefix": cfg.prefix,
            "stack": cfg.stack,
            "dynamodb_datasets": list(cfg.dynamodb_datasets),
            "force_destroy": cfg.force_destroy,
            "create_sink_user": create_sink_user,
            "sink_prefix": naming.S3_SINK_PREFIX,
        },
        pulumi.ResourceOptions(providers=[provider]),
    )
