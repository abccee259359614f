"""What a stack declares its platform objects on: a `Substrate`, from one of three producers.

- `docker_substrate` (stacks `dev`, `local`): the stack runs it itself. The AWS/GCP lake (real clouds, or
  emulator containers with `emulated`), MongoDB, the streaming platform and Airflow as Docker containers.
- `devstack_substrate` (stack `devstack`): devstack's local processes, read from the outputs file devstack
  writes; the stack declares nothing of the substrate, only the platform objects on it.
- `managed_substrate` (stack `prod`: `streaming: msk`, `orchestration: mwaa`): the same lakes, and AWS's managed
  engines in a private VPC (MSK, MSK Connect, a Confluent-API registry on Fargate, MWAA). There the topics and
  the S3 sink connector are AWS resources the substrate declares (`Substrate.managed`), and the Airflow
  settings are Secrets Manager secrets (`Substrate.airflow_settings`) instead of REST-API resources.

Either way the result has the same fields, so stacks/program.py declares the same topics, subjects, S3 sink
connector and Airflow settings on every stack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from components.airflow_settings import AirflowSettings
from contract import naming
from contract.kafka_auth import AWS_MSK_IAM
from contract.outputs import OutputsError, read_json_file, validate_substrate
from contract.s3_sink import DEAD_LETTER_TOPIC, S3SinkSettings, s3_sink_config
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


#: makes the stack's Airflow settings: `(name, args of components.airflow_settings.AirflowSettingsArgs)`
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


def substrate_for(cfg: StackConfig) -> Substrate:
    if cfg.substrate == "devstack":
        return devstack_substrate(cfg)
    return managed_substrate(cfg) if cfg.managed is not None else docker_substrate(cfg)


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
        "kafka_connect_auth": streaming.connect_auth,
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


# --- AWS's managed engines (stack `prod`) ----------------------------------------------------------------


def managed_substrate(cfg: StackConfig) -> Substrate:
    from components.airflow_secrets import AirflowSecrets
    from components.msk import Msk
    from components.network import Network
    from components.registry_fargate import SCHEMAS_TOPIC

    assert cfg.managed is not None and cfg.mongodb_uri is not None  # stacks.config requires both here
    managed = cfg.managed
    aws_provider = aws.Provider("aws", region=cfg.aws_region)
    on_aws = pulumi.ResourceOptions(providers=[aws_provider])
    aws_lake = _aws_lake(cfg, aws_provider, create_sink_user=False)  # the sink's role replaces dev's user + key
    gcp_lake = _gcp_lake(cfg, gcp.Provider("gcp", project=cfg.gcp_project, region=cfg.gcp_location.lower()))
    network = Network(
        "network",
        {
            "prefix": cfg.prefix,
            "stack": cfg.stack,
            "region": cfg.aws_region,
            "cidr": managed.vpc_cidr,
            "availability_zones": managed.availability_zones,
        },
        on_aws,
    )
    msk = Msk(
        "msk",
        {
            "prefix": cfg.prefix,
            "stack": cfg.stack,
            "subnet_ids": network.subnet_ids,
            "security_group_ids": [network.security_groups["msk"].id],
            "topics": {
                **{naming.kafka_topic(d): cfg.topic_partitions for d in cfg.topic_datasets},
                DEAD_LETTER_TOPIC: 1,  # records the S3 sink's converter cannot read, as on every stack
            },
            "compacted_topics": [SCHEMAS_TOPIC],
            "mode": managed.msk_mode,
            "kafka_version": managed.kafka_version,
            "broker_count": managed.broker_count,
            "broker_instance_type": managed.broker_instance_type,
            "broker_volume_gb": managed.broker_volume_gb,
        },
        on_aws,
    )
    registry_url, subjects = _managed_registry(cfg, network, msk, on_aws)
    connector_name = _managed_sink(cfg, aws_lake, network, msk, registry_url, subjects, on_aws)
    airflow_url = _managed_airflow(cfg, aws_provider, aws_lake, network, msk, on_aws)
    outputs: dict[str, Any] = {
        "aws_region": cfg.aws_region,
        "gcp_project": cfg.gcp_project,
        "endpoints": {},
        "aws_credentials": None,
        "s3_buckets": aws_lake.bucket_names,
        "dynamodb_tables": aws_lake.table_names,
        "gcs_buckets": gcp_lake.bucket_names,
        "bigquery_datasets": gcp_lake.dataset_ids,
        "firestore_database": gcp_lake.firestore_database,
        "mongodb_uri": pulumi.Output.secret(cfg.mongodb_uri),
        "kafka_bootstrap_servers": msk.bootstrap_servers,
        "schema_registry_url": registry_url,
        "kafka_connect_url": f"https://kafkaconnect.{cfg.aws_region}.amazonaws.com",
        "kafka_connect_auth": None,  # no Connect REST API: the MSK Connect API signs with AWS credentials
        "kafka_rest_proxy_url": None,
        "kafka_console_url": None,
        "airflow_url": airflow_url,
        "kafka_auth": {"mechanism": AWS_MSK_IAM, "region": cfg.aws_region},
    }
    return Substrate(
        outputs=outputs,
        sink=SinkTarget(flavour="confluent", schema_registry_url=registry_url, s3_endpoint=None),
        airflow_api=None,
        airflow_settings=lambda name, args: AirflowSecrets(name, args, on_aws),
        # dataset -> topic, as every stack publishes `kafka_topics` (the dead-letter topic is no dataset's)
        managed=ManagedPlatform(
            topic_names=msk.topic_names.apply(
                lambda names: {d: names[naming.kafka_topic(d)] for d in cfg.topic_datasets}
            ),
            connector_name=connector_name,
        ),
    )


def _gcp_lake(cfg: StackConfig, provider: gcp.Provider) -> Any:
    from components.gcp_lake import GcpLake

    return GcpLake(
        "gcp-lake",
        {
            "prefix": cfg.prefix,
            "stack": cfg.stack,
            "project": cfg.gcp_project,
            "location": cfg.gcp_location,
            "force_destroy": cfg.force_destroy,
        },
        pulumi.ResourceOptions(providers=[provider]),
    )


def _managed_registry(
    cfg: StackConfig, network: Any, msk: Any, opts: pulumi.ResourceOptions
) -> tuple[pulumi.Output[str], list[pulumi.Resource]]:
    """The registry on Fargate and the stack's value-schema subjects on it (the same dynamic resource as on
    every stack: the engine must reach the internal load balancer, i.e. run inside the VPC)."""
    from components.registry_fargate import RegistryFargate
    from components.schema_subject import SchemaSubject, schema_text
    from schemas import load as load_schema

    assert cfg.managed is not None
    registry = RegistryFargate(
        "schema-registry",
        {
            "prefix": cfg.prefix,
            "stack": cfg.stack,
            "region": cfg.aws_region,
            "image": cfg.managed.registry_image,
            "vpc_id": network.vpc.id,
            "subnet_ids": network.subnet_ids,
            "lb_security_group_id": network.security_groups["registry-lb"].id,
            "task_security_group_id": network.security_groups["registry"].id,
            "bootstrap_servers": msk.bootstrap_servers,
            "cluster_arn": msk.arn,
            "tasks": cfg.managed.registry_tasks,
        },
        opts,
    )
    subjects: list[pulumi.Resource] = []
    for dataset in cfg.topic_datasets:
        subject = naming.schema_subject(naming.kafka_topic(dataset))
        subjects.append(
            SchemaSubject(
                f"subject-{subject}",
                {
                    "registry_url": registry.url,
                    "subject": subject,
                    "schema": schema_text(load_schema(dataset).json_schema()),
                    "schema_type": "JSON",
                    "compatibility": cfg.subject_compatibility,
                },
                pulumi.ResourceOptions(depends_on=[registry]),
            )
        )
    return registry.url, subjects


def _managed_sink(
    cfg: StackConfig,
    aws_lake: Any,
    network: Any,
    msk: Any,
    registry_url: pulumi.Output[str],
    subjects: list[pulumi.Resource],
    opts: pulumi.ResourceOptions,
) -> pulumi.Output[str]:
    from components.msk_connect import MskConnect

    assert cfg.managed is not None
    topics = [naming.kafka_topic(d) for d in S3_SINK_DATASETS]
    dead_letter_replication = min(3, cfg.managed.broker_count)

    def config(registry: str) -> dict[str, str]:
        settings = S3SinkSettings(
            topics=tuple(topics),
            bucket=naming.s3_bucket(cfg.prefix, cfg.stack, "landing"),
            region=cfg.aws_region,
            topics_dir=naming.S3_SINK_PREFIX,
            schema_registry_url=registry,
            flush_size=cfg.s3_sink_flush_size,
            flavour="confluent",
            rotate_schedule_interval_ms=cfg.s3_sink_rotate_schedule_interval_ms,
            compression=cfg.s3_sink_compression,
            dead_letter_topic=DEAD_LETTER_TOPIC,
            dead_letter_replication_factor=dead_letter_replication,
        )
        built = s3_sink_config(settings)
        return {**built.config, **built.secret_config}  # no secret: the worker's role is its credential

    connect = MskConnect(
        "s3-sink",
        {
            "prefix": cfg.prefix,
            "stack": cfg.stack,
            "plugin_path": cfg.managed.connect_plugin_path,
            "artifact_bucket": aws_lake.buckets["artifact"].bucket,
            "artifact_bucket_arn": aws_lake.buckets["artifact"].arn,
            "landing_bucket_arn": aws_lake.buckets["landing"].arn,
            "sink_prefix": naming.S3_SINK_PREFIX,
            "cluster_arn": msk.arn,
            "bootstrap_servers": msk.bootstrap_servers,
            "subnet_ids": network.subnet_ids,
            "security_group_ids": [network.security_groups["connect"].id],
            "connector_name": naming.S3_SINK_CONNECTOR,
            "topics": topics,
            "connector_config": registry_url.apply(config),
            "mcu_count": cfg.managed.connect_mcu_count,
            "min_workers": cfg.managed.connect_min_workers,
            "max_workers": cfg.managed.connect_max_workers,
        },
        pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[msk, aws_lake, *subjects])),
    )
    return connect.name


def _managed_airflow(
    cfg: StackConfig, provider: aws.Provider, aws_lake: Any, network: Any, msk: Any, opts: pulumi.ResourceOptions
) -> pulumi.Output[str]:
    from components.mwaa import Mwaa

    assert cfg.managed is not None
    identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))
    tables = pulumi.Output.all(identity.account_id, aws_lake.table_names).apply(
        lambda a: [f"arn:aws:dynamodb:{cfg.aws_region}:{a[0]}:table/{t}" for t in sorted(a[1].values())]
    )
    mwaa = Mwaa(
        "mwaa",
        {
            "prefix": cfg.prefix,
            "stack": cfg.stack,
            "region": cfg.aws_region,
            "account_id": identity.account_id,
            "repo_root": REPO_ROOT,
            "artifact_bucket": aws_lake.buckets["artifact"].bucket,
            "artifact_bucket_arn": aws_lake.buckets["artifact"].arn,
            "landing_bucket_arn": aws_lake.buckets["landing"].arn,
            "dynamodb_table_arns": tables,
            "cluster_arn": msk.arn,
            "topics": [naming.kafka_topic(d) for d in cfg.topic_datasets],
            "subnet_ids": network.subnet_ids.apply(lambda ids: ids[:2]),  # MWAA takes exactly two subnets
            "security_group_ids": [network.security_groups["mwaa"].id],
            "environment_class": cfg.managed.mwaa_environment_class,
            "airflow_version": cfg.managed.mwaa_airflow_version,
            "max_workers": cfg.managed.mwaa_max_workers,
        },
        opts,
    )
    return mwaa.url
