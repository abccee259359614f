"""moto server: S3 and DynamoDB on one port, holding the emulated account's buckets and tables (devstack.account:
on the cloud stacks pulumi-aws declares them; here devstack owns them, with the same names and keys)."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import requests

from devstack import account
from devstack.service import Service, ServiceError


class Moto(Service):
    name = "moto"
    port_names = ("moto",)
    description = "S3 + DynamoDB (moto server)"
    start_timeout = 60.0

    def is_installed(self) -> bool:
        return importlib.util.find_spec("moto.server") is not None

    def install(self) -> None:
        if not self.is_installed():
            raise ServiceError("moto: the moto[server] package is missing; run `make setup` (extra 'devstack')")

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", self.cfg.host, "-p", str(self.port)]

    def ready(self) -> bool:
        return requests.get(f"http://{self.cfg.host}:{self.port}/moto-api/data.json", timeout=2).status_code == 200

    @property
    def url(self) -> str:
        return f"http://{self.cfg.host}:{self.port}"

    def published(self) -> dict[str, Any]:
        return {
            "aws_region": account.AWS_REGION,
            "endpoints": {"s3": self.url, "dynamodb": self.url},
            "aws_credentials": dict(account.FAKE_AWS_CREDENTIALS),
            "s3_buckets": account.s3_buckets(),
            "dynamodb_tables": account.dynamodb_tables(),
        }

    def _client(self, service: str) -> Any:
        import boto3

        creds = account.FAKE_AWS_CREDENTIALS
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=account.AWS_REGION,
            aws_access_key_id=creds["access_key_id"],
            aws_secret_access_key=creds["secret_access_key"],
        )

    def provision(self) -> None:
        s3 = self._client("s3")
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        for bucket in account.s3_buckets().values():
            if bucket not in existing:
                s3.create_bucket(Bucket=bucket)
        ddb = self._client("dynamodb")
        tables = set(ddb.list_tables().get("TableNames", []))
        for dataset, table in account.dynamodb_tables().items():
            if table not in tables:
                ddb.create_table(
                    TableName=table, BillingMode="PAY_PER_REQUEST", **account.dynamodb_table_definition(dataset)
                )
