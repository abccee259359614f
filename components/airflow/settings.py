"""The Airflow settings every stack creates so its DAGs find their targets: the public stack outputs as the
Variable `stack_outputs`, the MongoDB URI as the connection `mongo_default`, and (where the stack has keys, i.e.
emulators) the AWS keys and endpoint as `aws_default`, and (where the warehouse is BigQuery) the transformations'
service-account key as `warehouse_bigquery` (components/warehouse.py). Names from contract.naming; secrets stay
secret in the state and in Airflow (connection passwords and extras, which Airflow encrypts with its Fernet key)."""

from __future__ import annotations

from typing import Any, NotRequired, Required, TypedDict

import pulumi

from components.airflow.resource import AirflowConnection, AirflowVariable
from components.airflow.uri import connection_fields_from_uri
from contract import naming


class AirflowSettingsArgs(TypedDict):
    api: Required[pulumi.Input[dict[str, str]]]  # {"url", "username", "password"} of the Airflow REST API
    stack_outputs: Required[pulumi.Input[str]]  # JSON of the public outputs, as Airflow's workers see them
    mongodb_uri: Required[pulumi.Input[str]]
    aws_credentials: NotRequired[pulumi.Input[dict[str, str]] | None]  # None: the workers' own AWS chain
    aws_region: NotRequired[pulumi.Input[str]]
    s3_endpoint: NotRequired[pulumi.Input[str | None]]
    #: SECRET {"conn_id", "conn_type", "extra"}: the warehouse's credentials (components/warehouse.py); None: none
    warehouse_connection: NotRequired[pulumi.Input[dict[str, Any]] | None]


class AirflowSettings(pulumi.ComponentResource):
    variable: AirflowVariable
    connections: dict[str, AirflowConnection]

    def __init__(self, name: str, args: AirflowSettingsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:orchestration:AirflowSettings", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        api = pulumi.Output.secret(args["api"])
        api_url = pulumi.Output.unsecret(api.apply(lambda a: a["url"]))
        api_username = pulumi.Output.unsecret(api.apply(lambda a: a["username"]))
        api_password = api.apply(lambda a: a["password"])
        self.variable = AirflowVariable(
            f"{name}-{naming.AIRFLOW_STACK_OUTPUTS_VARIABLE}",
            {
                "api_url": api_url,
                "api_username": api_username,
                "api_password": api_password,
                "key": naming.AIRFLOW_STACK_OUTPUTS_VARIABLE,
                "value": args["stack_outputs"],
                "description": "public stack outputs (set by Pulumi): where the DAGs find their targets",
            },
            child,
        )
        mongo = pulumi.Output.secret(args["mongodb_uri"]).apply(connection_fields_from_uri)
        self.connections = {
            naming.AIRFLOW_MONGO_CONNECTION: AirflowConnection(
                f"{name}-{naming.AIRFLOW_MONGO_CONNECTION}",
                {
                    "api_url": api_url,
                    "api_username": api_username,
                    "api_password": api_password,
                    "conn_id": naming.AIRFLOW_MONGO_CONNECTION,
                    **_fields(mongo),
                },
                child,
            )
        }
        aws_credentials = args.get("aws_credentials")
        if aws_credentials is not None:
            creds: pulumi.Output[dict[str, str]] = pulumi.Output.secret(aws_credentials)  # type: ignore[arg-type]
            extra = pulumi.Output.all(args.get("aws_region"), args.get("s3_endpoint")).apply(
                lambda v: {k: x for k, x in (("region_name", v[0]), ("endpoint_url", v[1])) if x}
            )
            self.connections[naming.AIRFLOW_AWS_CONNECTION] = AirflowConnection(
                f"{name}-{naming.AIRFLOW_AWS_CONNECTION}",
                {
                    "api_url": api_url,
                    "api_username": api_username,
                    "api_password": api_password,
                    "conn_id": naming.AIRFLOW_AWS_CONNECTION,
                    "conn_type": "aws",
                    "login": pulumi.Output.unsecret(creds.apply(lambda c: c["access_key_id"])),
                    "password": creds.apply(lambda c: c["secret_access_key"]),
                    "extra": extra,
                },
                child,
            )
        warehouse = args.get("warehouse_connection")
        if warehouse is not None:
            fields: pulumi.Output[dict[str, Any]] = pulumi.Output.secret(warehouse)  # type: ignore[arg-type]
            self.connections[naming.AIRFLOW_WAREHOUSE_CONNECTION] = AirflowConnection(
                f"{name}-{naming.AIRFLOW_WAREHOUSE_CONNECTION}",
                {
                    "api_url": api_url,
                    "api_username": api_username,
                    "api_password": api_password,
                    "conn_id": pulumi.Output.unsecret(fields.apply(lambda f: f["conn_id"])),
                    "conn_type": pulumi.Output.unsecret(fields.apply(lambda f: f["conn_type"])),
                    "extra": fields.apply(lambda f: f["extra"]),
                    "description": "the dbt transformations' BigQuery service account (set by Pulumi)",
                },
                child,
            )
        self.register_outputs(
            {"variable": self.variable.key, "connections": sorted(self.connections)},
        )


class _ConnectionFields(TypedDict):
    conn_type: pulumi.Input[str]
    host: pulumi.Input[str | None]
    port: pulumi.Input[int | None]
    login: pulumi.Input[str | None]
    password: pulumi.Input[str | None]
    schema: pulumi.Input[str | None]
    extra: pulumi.Input[dict[str, Any] | None]


def _fields(fields: pulumi.Output[dict[str, Any]]) -> _ConnectionFields:
    """A parsed connection (conn_type, host, port, login, password, schema, extra) as resource inputs; only
    the password and extra stay secret."""

    def part(key: str, secret: bool = False) -> pulumi.Output[Any]:
        value = fields.apply(lambda f: f.get(key))
        return value if secret else pulumi.Output.unsecret(value)

    return {
        "conn_type": part("conn_type"),
        "host": part("host"),
        "port": part("port"),
        "login": part("login"),
        "password": part("password", secret=True),
        "schema": part("schema"),
        "extra": part("extra", secret=True),
    }
