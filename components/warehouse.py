"""The warehouse the transformations (dbt: silver and gold) build, as the outputs contract's `warehouse` key
(contract.outputs.WarehouseOutputs).

On the clouds (`dev`, `prod`): BigQuery, in the GCP lake's silver and gold datasets. `BigQueryWarehouse` declares
the transformations' service account with least privilege: data editor on the silver and gold datasets only
(create and replace their tables and views, external tables over the lake included), job user on the project
(run query jobs; it grants no data), object viewer on the GCS landing bucket only (BigQuery reads the landed
parquet with the caller's rights). Its key is a secret from the provider to the Airflow connection that
carries it (`connection`: Airflow's `google_cloud_platform` type, the key as `keyfile_dict`, which the Google
provider and Cosmos's BigQuery profile read); the stack creates that connection with its other Airflow settings.

Elsewhere: DuckDB, one database file (contract.outputs.duckdb_warehouse).
"""

from __future__ import annotations

import base64
from typing import Any, Required, TypedDict

import pulumi
import pulumi_gcp as gcp

from contract import naming

#: project-level: run jobs (queries, loads) billed to the project; grants no access to any data
JOB_USER = "roles/bigquery.jobUser"
#: dataset-level: read, create, update and delete the dataset's tables and views
DATA_EDITOR = "roles/bigquery.dataEditor"
#: bucket-level: list and read the landed objects BigQuery's external tables scan
OBJECT_VIEWER = "roles/storage.objectViewer"
CONNECTION_TYPE = "google_cloud_platform"


class BigQueryWarehouseArgs(TypedDict):
    prefix: Required[str]
    stack: Required[str]
    project: Required[pulumi.Input[str]]
    location: Required[str]
    silver_dataset: Required[pulumi.Input[str]]  # dataset ids (the GCP lake's)
    gold_dataset: Required[pulumi.Input[str]]
    landing_bucket: Required[pulumi.Input[str]]  # GCS bucket name, where the batch lands its parquet


class BigQueryWarehouse(pulumi.ComponentResource):
    service_account: gcp.serviceaccount.Account
    key: gcp.serviceaccount.Key
    #: role binding name -> binding (dataset, project and bucket scope)
    bindings: dict[str, pulumi.CustomResource]
    #: the `warehouse` output (public)
    outputs: pulumi.Output[dict[str, Any]]
    #: the Airflow connection that carries the key (SECRET): {"conn_id", "conn_type", "extra"}
    connection: pulumi.Output[dict[str, Any]]

    def __init__(self, name: str, args: BigQueryWarehouseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:warehouse:BigQueryWarehouse", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix, stack, project = args["prefix"], args["stack"], args["project"]
        account_id = naming.transform_service_account(prefix, stack)
        self.service_account = gcp.serviceaccount.Account(
            account_id,
            account_id=account_id,
            project=project,
            display_name="dbt transformations (silver, gold)",
            description="Builds the silver and gold datasets from the landing bucket (set by Pulumi)",
            opts=child,
        )
        member = pulumi.Output.concat("serviceAccount:", self.service_account.email)
        self.bindings = {}
        for role, dataset in (("silver", args["silver_dataset"]), ("gold", args["gold_dataset"])):
            self.bindings[f"{account_id}-{role}-editor"] = gcp.bigquery.DatasetIamMember(
                f"{account_id}-{role}-editor",
                project=project,
                dataset_id=dataset,
                role=DATA_EDITOR,
                member=member,
                opts=child,
            )
        self.bindings[f"{account_id}-job-user"] = gcp.projects.IAMMember(
            f"{account_id}-job-user", project=project, role=JOB_USER, member=member, opts=child
        )
        self.bindings[f"{account_id}-landing-reader"] = gcp.storage.BucketIAMMember(
            f"{account_id}-landing-reader", bucket=args["landing_bucket"], role=OBJECT_VIEWER, member=member, opts=child
        )
        self.key = gcp.serviceaccount.Key(
            f"{account_id}-key",
            service_account_id=self.service_account.name,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["privateKey"]),
        )
        self.outputs = pulumi.Output.all(project, args["silver_dataset"], args["gold_dataset"]).apply(
            lambda v: {
                "kind": "bigquery",
                "silver": v[1],
                "gold": v[2],
                "path": None,
                "project": v[0],
                "location": args["location"],
                "airflow_connection": naming.AIRFLOW_WAREHOUSE_CONNECTION,
            }
        )
        keyfile: pulumi.Output[str] = pulumi.Output.secret(self.key.private_key.apply(keyfile_json))
        self.connection = pulumi.Output.secret(
            pulumi.Output.all(self.outputs, keyfile).apply(lambda v: airflow_connection(v[0], v[1]))
        )
        self.register_outputs(
            {"email": self.service_account.email, "warehouse": self.outputs, "connection": self.connection}
        )


def keyfile_json(private_key: str) -> str:
    """The key's JSON credentials file (the provider returns it base64-encoded)."""
    return base64.b64decode(private_key).decode("utf-8")


def airflow_connection(warehouse: dict[str, Any], keyfile: str) -> dict[str, Any]:
    """The connection's fields: the key and where dbt builds (Cosmos's BigQuery profile needs a dataset)."""
    return {
        "conn_id": warehouse["airflow_connection"],
        "conn_type": CONNECTION_TYPE,
        "extra": {
            "keyfile_dict": keyfile,
            "project": warehouse["project"],
            "dataset": warehouse["silver"],
            "location": warehouse["location"],
        },
    }
