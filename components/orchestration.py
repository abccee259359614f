"""Orchestration on local Docker: Airflow 3 built from containers/airflow/ (dlt, pymongo) as its four
components in their own containers (api-server, scheduler, dag-processor, triggerer: the layout of Airflow's
own docker-compose), its Postgres metadata database (on the stack network only), and the DAGs mounted
read-only from pipelines/dags.

Secrets the components must share are generated once by `AirflowSecrets` and kept secret in the state: the
Fernet key (Connections and Variables encrypted in the DB), the JWT secret (the api-server signs the tokens of
the REST and execution APIs, every component verifies them), the API secret key, the admin password of
the SimpleAuthManager (written into its password file by the image's entrypoint, so Airflow never prints a
generated one) and the metadata database's password (Postgres' and Airflow's SQLAlchemy URL: secret in the
plan). Output `api`: the REST API's `{"url", "username", "password"}` (secret), which the stack's
Airflow Variable/Connection resources log in with. `variables`/`connections` (optional) still reach the
DAGs as `AIRFLOW_VAR_*`/`AIRFLOW_CONN_*`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypedDict

import pulumi
import pulumi_docker as docker

from components._docker import LOOPBACK, Service, pulled_image, service_container
from components.generated_secrets import GeneratedSecrets
from contract import naming

DAGS_IN_CONTAINER = "/opt/airflow/dags"
#: where a DuckDB warehouse lives (stack `local`: no BigQuery emulator): a Docker volume, so the file outlives
#: a replaced container and every component sees the one file
WAREHOUSE_DIR_IN_CONTAINER = f"/opt/airflow/{naming.DUCKDB_WAREHOUSE_DIR}"
METADATA_DB_USER = "airflow"  # the metadata database is reachable only on the stack network
API_PORT = 8080
ADMIN_USER = "admin"
PASSWORDS_FILE = "/opt/airflow/simple_auth_manager_passwords.json"
AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
#: component -> (its `airflow` command, its health check); the api-server's container keeps the name `airflow`
COMPONENTS: dict[str, tuple[list[str], str]] = {
    "api-server": (["api-server"], f"curl -fsS http://localhost:{API_PORT}/api/v2/monitor/health >/dev/null"),
    "scheduler": (["scheduler"], "curl -fsS http://localhost:8974/health >/dev/null"),
    "dag-processor": (["dag-processor"], 'airflow jobs check --job-type DagProcessorJob --hostname "$HOSTNAME"'),
    "triggerer": (["triggerer"], 'airflow jobs check --job-type TriggererJob --hostname "$HOSTNAME"'),
}


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


class AirflowSecrets(GeneratedSecrets, module="airflow", name="Secrets"):
    fernet_key: pulumi.Output[str]
    jwt_secret: pulumi.Output[str]
    api_secret_key: pulumi.Output[str]
    admin_password: pulumi.Output[str]
    db_password: pulumi.Output[str]

    RESOURCE_ID = "airflow-secrets"
    KINDS: ClassVar[Mapping[str, str]] = {
        "fernet_key": "fernet_key",
        "jwt_secret": "token",
        "api_secret_key": "token",
        "admin_password": "password",
        "db_password": "long_password",
    }


def airflow_env(
    variables: Mapping[str, pulumi.Input[str]],
    connections: Mapping[str, pulumi.Input[str]],
    extra: Mapping[str, pulumi.Input[str]],
    shared: Mapping[str, pulumi.Input[str]] | None = None,
) -> dict[str, pulumi.Input[str]]:
    """Every component's environment: the same settings and secrets, or tokens and encrypted values break."""
    env: dict[str, pulumi.Input[str]] = {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": DAGS_IN_CONTAINER,
        "AIRFLOW__CORE__AUTH_MANAGER": AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": PASSWORDS_FILE,
        # task workers reach Variables, Connections and XComs only through the api-server
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://airflow:{API_PORT}/execution/",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    env.update(shared or {})  # the generated secrets, the metadata DB's URL among them
    env.update({f"AIRFLOW_VAR_{name.upper()}": value for name, value in variables.items()})
    env.update({f"AIRFLOW_CONN_{name.upper()}": pulumi.Output.secret(uri) for name, uri in connections.items()})
    env.update(extra)
    return env


class Orchestration(pulumi.ComponentResource):
    airflow: docker.Container  # the api-server (UI, REST and execution API)
    components: dict[str, docker.Container]
    url: pulumi.Output[str]
    api: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: OrchestrationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:orchestration:Airflow", name, None, opts)
        prefix, stack = args["prefix"], args["stack"]
        child = pulumi.ResourceOptions(parent=self)
        generated = AirflowSecrets(naming.resource_name(prefix, stack, "airflow-secrets"), child)
        db_password: pulumi.Output[str] = pulumi.Output.secret(generated.db_password)
        postgres = service_container(
            Service(
                name=naming.resource_name(prefix, stack, "airflow-db"),
                alias="postgres",
                image=pulled_image(
                    naming.resource_name(prefix, stack, "postgres-image"), args["postgres_image"], child
                ).name,
                envs={"POSTGRES_USER": METADATA_DB_USER, "POSTGRES_PASSWORD": db_password, "POSTGRES_DB": "airflow"},
                health=f"pg_isready -U {METADATA_DB_USER}",
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
        shared: dict[str, pulumi.Input[str]] = {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": pulumi.Output.concat(
                f"postgresql+psycopg2://{METADATA_DB_USER}:", db_password, "@postgres/airflow"
            ),
            "AIRFLOW__CORE__FERNET_KEY": pulumi.Output.secret(generated.fernet_key),
            "AIRFLOW__API_AUTH__JWT_SECRET": pulumi.Output.secret(generated.jwt_secret),
            "AIRFLOW__API__SECRET_KEY": pulumi.Output.secret(generated.api_secret_key),
        }
        env = airflow_env(args.get("variables", {}), args.get("connections", {}), args.get("env", {}), shared)
        warehouse = docker.Volume(naming.resource_name(prefix, stack, "warehouse"), opts=child)
        dags = [
            docker.ContainerVolumeArgs(host_path=args["dags_dir"], container_path=DAGS_IN_CONTAINER, read_only=True),
            docker.ContainerVolumeArgs(volume_name=warehouse.name, container_path=WAREHOUSE_DIR_IN_CONTAINER),
        ]

        def component(role: str, alias: str, extra_env: Mapping[str, pulumi.Input[str]], **more: Any) -> Any:
            command, health = COMPONENTS[role]
            return Service(
                name=naming.resource_name(prefix, stack, alias),
                alias=alias,
                image=image.image_name,
                envs={**env, **extra_env},
                command=command,
                volumes=dags,
                health=health,
                **more,
            )

        # the api-server migrates the metadata DB first (the official image's _AIRFLOW_DB_MIGRATE) and holds
        # the auth manager's password file; the other components start once it is healthy
        self.airflow = service_container(
            component(
                "api-server",
                "airflow",
                {
                    "_AIRFLOW_DB_MIGRATE": "true",
                    "KDE_AIRFLOW_ADMIN_PASSWORD": pulumi.Output.secret(generated.admin_password),
                },
                ports={API_PORT: args["port"]},
                start_period="120s",
            ),
            args["network"],
            pulumi.ResourceOptions(parent=self, depends_on=[postgres]),
        )
        self.components = {"api-server": self.airflow}
        for role in ("scheduler", "dag-processor", "triggerer"):
            self.components[role] = service_container(
                component(role, f"airflow-{role}", {}, start_period="60s"),
                args["network"],
                pulumi.ResourceOptions(parent=self, depends_on=[self.airflow]),
            )
        self.url = self.airflow.name.apply(lambda _: f"http://{LOOPBACK}:{args['port']}")
        self.api = pulumi.Output.secret(
            pulumi.Output.all(self.url, generated.admin_password).apply(
                lambda v: {"url": v[0], "username": ADMIN_USER, "password": v[1]}
            )
        )
        self.register_outputs({"url": self.url, "api": self.api})
