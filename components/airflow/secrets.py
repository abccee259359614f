"""The Airflow settings of the MWAA stack (`prod`) as AWS Secrets Manager secrets, which MWAA's secrets backend
reads (components/mwaa.py): the Variable `stack_outputs` as `airflow/variables/stack_outputs`, the connection
`mongo_default` as `airflow/connections/mongo_default` (Airflow's JSON connection form). They take the place
of the REST-API dynamic resources of components/airflow/settings.py (MWAA's API is not reachable from the
engine, and a secret backend keeps the values out of Airflow's database). The secret values stay secret in
the state. No `aws_default` connection: MWAA's workers use the execution role. The BigQuery warehouse's
connection (components/warehouse.py) goes the same way, as `airflow/connections/warehouse_bigquery`.
"""

from __future__ import annotations

import json
from typing import Any, NotRequired, Required, TypedDict

import pulumi
import pulumi_aws as aws

from components.airflow.uri import connection_fields_from_uri
from components.mwaa import CONNECTIONS_PREFIX, VARIABLES_PREFIX
from contract import naming


class AirflowSecretsArgs(TypedDict):
    stack_outputs: Required[pulumi.Input[str]]  # JSON of the public outputs
    mongodb_uri: Required[pulumi.Input[str]]
    api: NotRequired[None]  # the REST-API target of the other stacks: none here
    aws_credentials: NotRequired[None]
    aws_region: NotRequired[pulumi.Input[str]]
    s3_endpoint: NotRequired[pulumi.Input[str | None]]
    #: SECRET {"conn_id", "conn_type", "extra"}: the warehouse's credentials (components/warehouse.py)
    warehouse_connection: NotRequired[pulumi.Input[dict[str, Any]] | None]


class AirflowSecrets(pulumi.ComponentResource):
    secrets: dict[str, aws.secretsmanager.Secret]

    def __init__(self, name: str, args: AirflowSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:orchestration:AirflowSecrets", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        mongo = pulumi.Output.secret(args["mongodb_uri"]).apply(
            lambda uri: json.dumps(_json_connection(connection_fields_from_uri(uri)), sort_keys=True)
        )
        values: dict[str, pulumi.Input[str]] = {
            f"{VARIABLES_PREFIX}/{naming.AIRFLOW_STACK_OUTPUTS_VARIABLE}": args["stack_outputs"],
            f"{CONNECTIONS_PREFIX}/{naming.AIRFLOW_MONGO_CONNECTION}": mongo,
        }
        warehouse = args.get("warehouse_connection")
        if warehouse is not None:
            fields: pulumi.Output[dict[str, Any]] = pulumi.Output.secret(warehouse)  # type: ignore[arg-type]
            connection = fields.apply(
                lambda f: json.dumps({"conn_type": f["conn_type"], "extra": f["extra"]}, sort_keys=True)
            )
            values[f"{CONNECTIONS_PREFIX}/{naming.AIRFLOW_WAREHOUSE_CONNECTION}"] = connection
        self.secrets = {}
        for secret_name, value in values.items():
            resource = secret_name.replace("/", "-")
            secret = aws.secretsmanager.Secret(resource, name=secret_name, recovery_window_in_days=7, opts=child)
            aws.secretsmanager.SecretVersion(
                resource, secret_id=secret.id, secret_string=pulumi.Output.secret(value), opts=child
            )
            self.secrets[secret_name] = secret
        self.register_outputs({"secrets": sorted(self.secrets)})


def _json_connection(fields: dict[str, Any]) -> dict[str, Any]:
    """Airflow's JSON connection form (what SecretsManagerBackend parses): the fields that are set."""
    return {key: value for key, value in fields.items() if value is not None}
