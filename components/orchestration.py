"""Orchestration on local Docker: Airflow built from containers/airflow/ (dlt, pymongo), its Postgres
metadata database (on the stack network only), and the DAGs mounted read-only from pipelines/dags.
The DAGs read their targets from the environment: Airflow Variables/Connections set by this component
from the other components' outputs (`AIRFLOW_VAR_*`, `AIRFLOW_CONN_*`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

import pulumi
import pulumi_docker as docker

from components import naming
from components._docker import LOOPBACK, Service, pulled_image, service_container

DAGS_IN_CONTAINER = "/opt/airflow/dags"
METADATA_DB_PASSWORD = "airflow"  # the metadata database is reachable only on the stack network


class OrchestrationArgs(TypedDict, total=False):
    prefix: str
    stack: str
    network: docker.Network
    port: int
    postgres_image: str
    build_context: str  # the repository root (the image installs the project's pipelines extra)
    dockerfile: str
    dags_dir: str  # absolute path of pipelines/dags on the Docker host
    variables: Mapping[str, pulumi.Input[str]]  # Airflow Variables, e.g. s3_landing
    connections: Mapping[str, pulumi.Input[str]]  # Airflow Connections as URIs (kept secret)
    env: Mapping[str, pulumi.Input[str]]  # plain environment (AWS region, emulator endpoints...)


def airflow_env(
    variables: Mapping[str, pulumi.Input[str]],
    connections: Mapping[str, pulumi.Input[str]],
    extra: Mapping[str, pulumi.Input[str]],
) -> dict[str, pulumi.Input[str]]:
    env: dict[str, pulumi.Input[str]] = {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": DAGS_IN_CONTAINER,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://airflow:{METADATA_DB_PASSWORD}@postgres/airflow",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    env.update({f"AIRFLOW_VAR_{name.upper()}": value for name, value in variables.items()})
    env.update({f"AIRFLOW_CONN_{name.upper()}": pulumi.Output.secret(uri) for name, uri in connections.items()})
    env.update(extra)
    return env


class Orchestration(pulumi.ComponentResource):
    airflow: docker.Container
    url: pulumi.Output[str]

    def __init__(self, name: str, args: OrchestrationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:orchestration:Airflow", name, None, opts)
        prefix, stack = args["prefix"], args["stack"]
        child = pulumi.ResourceOptions(parent=self)
        postgres = service_container(
            Service(
                name=naming.resource_name(prefix, stack, "airflow-db"),
                alias="postgres",
                image=pulled_image(
                    naming.resource_name(prefix, stack, "postgres-image"), args["postgres_image"], child
                ).name,
                envs={"POSTGRES_USER": "airflow", "POSTGRES_PASSWORD": METADATA_DB_PASSWORD, "POSTGRES_DB": "airflow"},
                health="pg_isready -U airflow",
            ),
            args["network"],
            child,
        )
        image = docker.Image(
            naming.resource_name(prefix, stack, "airflow-image"),
            image_name=f"{prefix}-airflow:{stack}",
            build={"context": args["build_context"], "dockerfile": args["dockerfile"]},
            skip_push=True,
            opts=child,
        )
        self.airflow = service_container(
            Service(
                name=naming.resource_name(prefix, stack, "airflow"),
                alias="airflow",
                image=image.image_name,
                ports={8080: args["port"]},
                envs=airflow_env(args.get("variables", {}), args.get("connections", {}), args.get("env", {})),
                command=["standalone"],
                volumes=[
                    docker.ContainerVolumeArgs(
                        host_path=args["dags_dir"], container_path=DAGS_IN_CONTAINER, read_only=True
                    )
                ],
                health="curl -fsS http://localhost:8080/health >/dev/null",
                start_period="120s",
            ),
            args["network"],
            pulumi.ResourceOptions(parent=self, depends_on=[postgres]),
        )
        self.url = self.airflow.name.apply(lambda _: f"http://{LOOPBACK}:{args['port']}")
        self.register_outputs({"url": self.url})
