"""DynamoDB: dynalite (npm, Apache-2.0), the DynamoDB JSON API on LevelDB, holding the emulated account's tables
(devstack.account: on the cloud stacks pulumi-aws declares them; here devstack owns them, same names and keys).

What runs: dynalite's own CLI under Node, from the packages devstack/node/dynamodb/package.json pins (LevelDB
through classic-level's prebuilt binding; npm runs no install script). install() puts them into
install/dynamodb/app. Data on disk: run/dynamodb/data/ is the LevelDB store (tables and items). LevelDB appends
each write to its log before dynalite answers, so an acknowledged write survives `devstack down`/`up` and a
kill -9 of the process (the log is not fsynced: a power cut may lose the last writes, which the OS still held).
Tables are ACTIVE at once (its CREATING/DELETING delays are set to 0). Its validation follows DynamoDB's own
messages and limits (e.g. table names of 3+ characters, 400 KB items).
Clients: boto3 with `endpoint_url` = `endpoints.dynamodb` of the outputs, the region and keys of the outputs.
"""

from __future__ import annotations

import functools
from typing import Any

from devstack import account, process
from devstack.service import ServiceError
from devstack.services import _aws
from devstack.services._node import NODE_DIR, NodeService


class Dynalite(NodeService):
    name = "dynamodb"
    source_dir = NODE_DIR / "dynamodb"
    library = "dynalite"
    port_names = ("dynamodb",)
    description = "DynamoDB API (dynalite on LevelDB, on disk)"
    start_timeout = 30.0

    @property
    def url(self) -> str:
        return f"http://{self.cfg.host}:{self.port}"

    def command(self) -> list[str]:
        cli = self.app_dir / "node_modules" / "dynalite" / "cli.js"
        delays = [arg for kind in ("create", "delete", "update") for arg in (f"--{kind}TableMs", "0")]
        host_port = ["--host", self.cfg.host, "--port", str(self.port)]
        return [self.node(), str(cli), *host_port, "--path", str(self.data_dir), *delays]

    def ready(self) -> bool:
        _aws.client("dynamodb", self.url).list_tables(Limit=1)
        return True

    def published(self) -> dict[str, Any]:
        return {**_aws.published("dynamodb", self.url), "dynamodb_tables": account.dynamodb_tables()}

    def provision(self) -> None:
        ddb = _aws.client("dynamodb", self.url)
        existing = set(ddb.get_paginator("list_tables").paginate().build_full_result().get("TableNames", []))
        created = []
        for dataset, table in account.dynamodb_tables().items():
            if table not in existing:
                definition = account.dynamodb_table_definition(dataset)
                ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST", **definition)
                created.append(table)
        for table in created:  # ACTIVE almost at once; a write before that is refused
            if not process.wait_until(functools.partial(_active, ddb, table), timeout=10, interval=0.05):
                raise ServiceError(f"dynamodb: table {table} is not ACTIVE 10s after create_table ({self.url})")


def _active(ddb: Any, table: str) -> bool:
    return ddb.describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE"
