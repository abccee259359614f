"""GCP lake: the seed's GCS buckets (landing, staging, curated), BigQuery datasets (silver, gold) with the
warehouse the transformations build in them (components/warehouse.py: their service account, its roles and
key) and the Firestore `(default)` database in native mode. On emulators only the GCS buckets are declared
(there is no BigQuery emulator, and the Firestore emulator serves `(default)` without an admin API)."""

from __future__ import annotations

from typing import NotRequired, Required, TypedDict

import pulumi
import pulumi_gcp as gcp

from components._outputs import output_map
from components.warehouse import BigQueryWarehouse
from contract import naming

FIRESTORE_DATABASE = "(default)"


class GcpLakeArgs(TypedDict):
    prefix: Required[str]
    stack: Required[str]
    project: Required[pulumi.Input[str]]
    location: NotRequired[str]
    force_destroy: NotRequired[bool]
    with_bigquery: NotRequired[bool]
    with_firestore_database: NotRequired[bool]


class GcpLake(pulumi.ComponentResource):
    buckets: dict[str, gcp.storage.Bucket]
    datasets: dict[str, gcp.bigquery.Dataset]
    firestore: gcp.firestore.Database | None
    #: BigQuery as the transformations' warehouse (None without BigQuery)
    warehouse: BigQueryWarehouse | None
    bucket_names: pulumi.Output[dict[str, str]]
    dataset_ids: pulumi.Output[dict[str, str]]
    firestore_database: pulumi.Output[str]

    def __init__(self, name: str, args: GcpLakeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:lake:GcpLake", name, None, opts)
        prefix, stack, location = args["prefix"], args["stack"], args.get("location", "ASIA-SOUTHEAST1")
        child = pulumi.ResourceOptions(parent=self)
        self.buckets = {}
        for role in naming.GCS_BUCKET_ROLES:
            bucket_name = naming.gcs_bucket(prefix, stack, role)
            self.buckets[role] = gcp.storage.Bucket(
                bucket_name,
                name=bucket_name,
                project=args["project"],
                location=location,
                uniform_bucket_level_access=True,
                public_access_prevention="enforced",
                versioning={"enabled": True},
                force_destroy=args.get("force_destroy", False),
                lifecycle_rules=[{"action": {"type": "Delete"}, "condition": {"days_since_noncurrent_time": 30}}],
                opts=child,
            )
        self.datasets = {}
        if args.get("with_bigquery", True):
            for role in naming.BIGQUERY_DATASET_ROLES:
                dataset_id = naming.bigquery_dataset(prefix, stack, role)
                self.datasets[role] = gcp.bigquery.Dataset(
                    dataset_id,
                    dataset_id=dataset_id,
                    project=args["project"],
                    location=location,
                    delete_contents_on_destroy=args.get("force_destroy", False),
                    opts=child,
                )
        self.warehouse = None
        if self.datasets:
            self.warehouse = BigQueryWarehouse(
                "warehouse",
                {
                    "prefix": prefix,
                    "stack": stack,
                    "project": args["project"],
                    "location": location,
                    "silver_dataset": self.datasets["silver"].dataset_id,
                    "gold_dataset": self.datasets["gold"].dataset_id,
                    "landing_bucket": self.buckets["landing"].name,
                },
                child,
            )
        self.firestore = None
        if args.get("with_firestore_database", True):
            self.firestore = gcp.firestore.Database(
                naming.resource_name(prefix, stack, "firestore"),
                name=FIRESTORE_DATABASE,
                project=args["project"],
                location_id=location.lower(),
                type="FIRESTORE_NATIVE",
                point_in_time_recovery_enablement="POINT_IN_TIME_RECOVERY_ENABLED",
                delete_protection_state="DELETE_PROTECTION_ENABLED",
                opts=child,
            )
        self.bucket_names = output_map({r: b.name for r, b in self.buckets.items()})
        self.dataset_ids = output_map({r: d.dataset_id for r, d in self.datasets.items()})
        self.firestore_database = (
            self.firestore.name if self.firestore else pulumi.Output.from_input(FIRESTORE_DATABASE)
        )
        self.register_outputs(
            {"bucket_names": self.bucket_names, "dataset_ids": self.dataset_ids, "firestore": self.firestore_database}
        )
