"""The substrate the `dev` and `local` stacks run themselves: the AWS and GCP lakes (real clouds, or with
`emulated` emulator containers and providers pointed at them), MongoDB, the streaming platform and Airflow as
Docker containers on one network.

Its outputs are the stack outputs it defines (`outputs`, host view, keyed as in contract.outputs) and what the
program needs to declare the platform objects on it: the Airflow REST API, the outputs as Airflow's workers
see them, and the S3 sink's view of the registry and S3."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, Required, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from components import emulators as emu
from components._substrate_parts import aws_lake, gcp_lake, moved_child
from components.aws_lake import AwsLake
from components.mongodb import MongoDb
from components.orchestration import WAREHOUSE_DIR_IN_CONTAINER, Orchestration
from components.streaming import INTERNAL_BOOTSTRAP, INTERNAL_CONNECT_URL, INTERNAL_REGISTRY_URL, StreamingPlatform
from contract import naming
from contract.outputs import duckdb_warehouse

EMULATED_CREDENTIALS = {"access_key_id": emu.FAKE_ACCESS_KEY_ID, "secret_access_key": emu.FAKE_SECRET_ACCESS_KEY}
#: the emulators' addresses as containers on the stack network see them
INTERNAL_ENDPOINTS = {
    "s3": emu.MOTO_INTERNAL_URL,
    "dynamodb": emu.MOTO_INTERNAL_URL,
    "gcs": emu.GCS_INTERNAL_URL,
    "firestore": emu.FIRESTORE_INTERNAL_HOST,
}
#: the DuckDB warehouse of stack `local` (no BigQuery emulator): a file in the Airflow container, where dbt runs
WAREHOUSE_IN_CONTAINER = f"{WAREHOUSE_DIR_IN_CONTAINER}/{naming.DUCKDB_WAREHOUSE_FILE}"


class DockerSubstrateArgs(TypedDict):
    prefix: Required[str]
    stack: Required[str]
    aws_region: Required[str]
    gcp_project: Required[str]
    gcp_location: Required[str]
    emulated: Required[bool]  # the clouds as emulator containers (stack `local`)
    force_destroy: Required[bool]
    dynamodb_datasets: Required[Sequence[str]]
    ports: Required[Mapping[str, int]]
    images: Required[Mapping[str, str]]
    repo_root: Required[str]  # the checkout: the Connect and Airflow images are built from it
    mongodb_password: NotRequired[pulumi.Input[str] | None]


class DockerSubstrate(pulumi.ComponentResource):
    aws_lake: AwsLake
    streaming: StreamingPlatform
    outputs: dict[str, Any]
    airflow_api: pulumi.Output[dict[str, str]]
    airflow_view: dict[str, Any]
    #: the Airflow connection carrying the BigQuery warehouse's key (SECRET; None for DuckDB)
    warehouse_connection: pulumi.Output[dict[str, Any]] | None
    sink_registry_url: str
    sink_s3_endpoint: str | None

    def __init__(self, name: str, args: DockerSubstrateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:substrate:DockerSubstrate", name, None, opts)
        emulated = args["emulated"]
        endpoints: pulumi.Input[dict[str, str]] = {}
        if emulated:  # moto accepts any key; the lakes go on the emulators, which join the streaming network
            self.streaming = self._streaming(
                args, emu.FAKE_ACCESS_KEY_ID, pulumi.Output.secret(emu.FAKE_SECRET_ACCESS_KEY)
            )
            emulators = self._emulators(args)
            aws_provider, gcp_provider = emulators.aws_provider, emulators.gcp_provider
            self.aws_lake = self._aws_lake(args, aws_provider, create_sink_user=False)
            endpoints = emulators.endpoints
        else:  # the AWS lake first: it makes the S3 sink's user and key the Connect worker runs with
            aws_provider, gcp_provider = self._cloud_providers(args)
            self.aws_lake = self._aws_lake(args, aws_provider, create_sink_user=True)
            keys = (self.aws_lake.sink_access_key_id or "", self.aws_lake.sink_secret_access_key or "")
            self.streaming = self._streaming(args, *keys)
        lake = gcp_lake(
            self,
            gcp_provider,
            prefix=args["prefix"],
            stack=args["stack"],
            project=args["gcp_project"],
            location=args["gcp_location"],
            force_destroy=args["force_destroy"],
            emulated=emulated,
        )
        warehouse: pulumi.Input[dict[str, Any]] = dict(duckdb_warehouse(WAREHOUSE_IN_CONTAINER))
        self.warehouse_connection = None
        if lake.warehouse is not None:  # BigQuery on the real cloud
            warehouse, self.warehouse_connection = lake.warehouse.outputs, lake.warehouse.connection
        mongo = self._mongodb(args)
        orchestration = self._orchestration(args)
        self.outputs = {
            "aws_region": args["aws_region"],
            "gcp_project": args["gcp_project"],
            "endpoints": endpoints,
            "aws_credentials": pulumi.Output.secret(EMULATED_CREDENTIALS) if emulated else None,
            "s3_buckets": self.aws_lake.bucket_names,
            "dynamodb_tables": self.aws_lake.table_names,
            "gcs_buckets": lake.bucket_names,
            "bigquery_datasets": lake.dataset_ids,
            "firestore_database": lake.firestore_database,
            "mongodb_uri": mongo.uri,
            "kafka_bootstrap_servers": self.streaming.bootstrap_servers,
            "schema_registry_url": self.streaming.schema_registry_url,
            "kafka_connect_url": self.streaming.connect_url,
            "kafka_connect_auth": self.streaming.connect_auth,
            "kafka_rest_proxy_url": self.streaming.rest_proxy_url,
            "kafka_console_url": self.streaming.console_url,
            "airflow_url": orchestration.url,
            "warehouse": warehouse,
        }
        self.airflow_api = orchestration.api
        self.airflow_view = {
            "endpoints": INTERNAL_ENDPOINTS if emulated else {},
            "mongodb_uri": mongo.internal_uri,
            "kafka_bootstrap_servers": INTERNAL_BOOTSTRAP,
            "schema_registry_url": INTERNAL_REGISTRY_URL,
            "kafka_connect_url": INTERNAL_CONNECT_URL,
        }
        self.sink_registry_url = INTERNAL_REGISTRY_URL
        self.sink_s3_endpoint = emu.MOTO_INTERNAL_URL if emulated else None
        self.register_outputs(
            {
                **self.outputs,
                "airflow_api": self.airflow_api,
                "airflow_view": self.airflow_view,
                "sink_registry_url": self.sink_registry_url,
                "sink_s3_endpoint": self.sink_s3_endpoint,
            }
        )

    def _cloud_providers(self, args: DockerSubstrateArgs) -> tuple[aws.Provider, gcp.Provider]:
        aws_provider = aws.Provider("aws", region=args["aws_region"], opts=moved_child(self))
        gcp_provider = gcp.Provider(
            "gcp", project=args["gcp_project"], region=args["gcp_location"].lower(), opts=moved_child(self)
        )
        return aws_provider, gcp_provider

    def _aws_lake(self, args: DockerSubstrateArgs, provider: aws.Provider, *, create_sink_user: bool) -> AwsLake:
        return aws_lake(
            self,
            provider,
            prefix=args["prefix"],
            stack=args["stack"],
            dynamodb_datasets=args["dynamodb_datasets"],
            force_destroy=args["force_destroy"],
            create_sink_user=create_sink_user,
        )

    def _streaming(
        self, args: DockerSubstrateArgs, key_id: pulumi.Input[str], secret_key: pulumi.Input[str]
    ) -> StreamingPlatform:
        return StreamingPlatform(
            "streaming",
            {
                "prefix": args["prefix"],
                "stack": args["stack"],
                "ports": args["ports"],
                "images": args["images"],
                "connect_context": f"{args['repo_root']}/containers/connect",
                "connect_env": {
                    "AWS_REGION": args["aws_region"],
                    "AWS_ACCESS_KEY_ID": key_id,
                    "AWS_SECRET_ACCESS_KEY": secret_key,
                },
            },
            moved_child(self),
        )

    def _emulators(self, args: DockerSubstrateArgs) -> emu.Emulators:
        return emu.Emulators(
            "emulators",
            {
                "prefix": args["prefix"],
                "stack": args["stack"],
                "network": self.streaming.network,
                "ports": args["ports"],
                "images": args["images"],
                "aws_region": args["aws_region"],
                "gcp_project": args["gcp_project"],
            },
            moved_child(self),
        )

    def _mongodb(self, args: DockerSubstrateArgs) -> MongoDb:
        return MongoDb(
            "mongodb",
            {
                "prefix": args["prefix"],
                "stack": args["stack"],
                "network": self.streaming.network,
                "port": args["ports"]["mongodb"],
                "image": args["images"]["mongodb"],
                "password": args.get("mongodb_password"),
            },
            moved_child(self),
        )

    def _orchestration(self, args: DockerSubstrateArgs) -> Orchestration:
        root = args["repo_root"]
        return Orchestration(
            "orchestration",
            {
                "prefix": args["prefix"],
                "stack": args["stack"],
                "network": self.streaming.network,
                "port": args["ports"]["airflow"],
                "postgres_image": args["images"]["postgres"],
                "build_context": root,
                "dockerfile": f"{root}/containers/airflow/Dockerfile",
                "dags_dir": f"{root}/pipelines/dags",
                "env": airflow_env(args),
            },
            moved_child(self),
        )


def airflow_env(args: DockerSubstrateArgs) -> dict[str, pulumi.Input[str]]:
    """What Airflow's workers need beyond the stack's Airflow settings: the region, and on emulators the
    emulators' addresses on the stack network (the AWS and GCP clients' own environment switches)."""
    env: dict[str, pulumi.Input[str]] = {"AWS_DEFAULT_REGION": args["aws_region"]}
    if args["emulated"]:
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
