"""DynamoDB (devstack's dynalite on LevelDB): a table and the items a batch writer wrote before a kill -9 or a stop
are all there after the next start, and so is every item whose PutItem was acknowledged when a kill landed in the
middle of a stream of writes; read back through boto3 as the loaders and the reconciler read."""

from __future__ import annotations

import random
import threading
import uuid
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from contract.clients import dynamodb_client, dynamodb_resource
from devstack.config import DevstackConfig
from devstack.services.dynamodb import Dynalite
from devstack.testing import SessionServices

pytestmark = pytest.mark.devstack

ITEMS = 300  # twelve BatchWriteItem calls of 25 and a short one


def _write(outputs: dict[str, Any]) -> dict[str, Any]:
    """A new table of our own and, in the account's cards table, items under an id no other test uses."""
    ddb = dynamodb_client(outputs)
    run = uuid.uuid4().hex[:8]
    extra = f"devstack-durable-{run}"
    ddb.create_table(
        TableName=extra,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    card_id = random.randrange(10**9, 2 * 10**9)
    table = dynamodb_resource(outputs).Table(outputs["dynamodb_tables"]["cards"])
    with table.batch_writer() as batch:
        for client_id in range(ITEMS):
            batch.put_item(Item={"id": card_id, "client_id": client_id, "run": run, "tags": {"a", "b"}})
    return {"extra_table": extra, "card_id": card_id, "run": run}


def _read_back(outputs: dict[str, Any], written: dict[str, Any]) -> None:
    ddb = dynamodb_client(outputs)
    assert ddb.describe_table(TableName=written["extra_table"])["Table"]["TableStatus"] == "ACTIVE"
    table = dynamodb_resource(outputs).Table(outputs["dynamodb_tables"]["cards"])
    pages = ddb.get_paginator("query").paginate(
        TableName=table.name,
        KeyConditionExpression="id = :id",
        ExpressionAttributeValues={":id": {"N": str(written["card_id"])}},
    )
    client_ids = [int(item["client_id"]["N"]) for page in pages for item in page["Items"]]
    assert client_ids == list(range(ITEMS))
    item = table.get_item(Key={"id": written["card_id"], "client_id": ITEMS - 1})["Item"]
    assert (item["run"], item["tags"]) == (written["run"], {"a", "b"})


@pytest.mark.parametrize("how", ["kill -9", "down/up"])
def test_tables_and_items_survive_a_restart(devstack: SessionServices, how: str) -> None:
    outputs = devstack("dynamodb")
    written = _write(outputs)
    if how == "kill -9":
        dynamodb = Dynalite(DevstackConfig.from_env())
        assert dynamodb.kill(), "dynalite was not running"
        dynamodb.start()
    else:
        assert devstack.platform.down(["dynamodb"], report=lambda _: None) == ["dynamodb"]
        assert devstack.platform.up(["dynamodb"], report=lambda _: None) == ["dynamodb"]
    _read_back(outputs, written)


def test_every_acknowledged_put_survives_a_kill_in_a_stream_of_writes(devstack: SessionServices) -> None:
    outputs = devstack("dynamodb")
    table = _without_retries(outputs).Table(outputs["dynamodb_tables"]["cards"])
    card_id = random.randrange(10**9, 2 * 10**9)
    acknowledged: list[int] = []
    enough = threading.Event()

    def write() -> None:
        try:
            for client_id in range(1_000_000):
                table.put_item(Item={"id": card_id, "client_id": client_id})
                acknowledged.append(client_id)
                if client_id == 200:
                    enough.set()
        except Exception:  # the kill: the write in flight fails, and the stream ends there
            pass
        finally:
            enough.set()

    writer = threading.Thread(target=write)
    writer.start()
    enough.wait(timeout=120)
    dynamodb = Dynalite(DevstackConfig.from_env())
    assert dynamodb.kill(), "dynalite was not running"
    writer.join(timeout=300)
    dynamodb.start()

    assert len(acknowledged) > 200, "the writer stopped before the kill"
    stored = [int(i["client_id"]) for i in _query_all(table, card_id)]
    assert stored[: len(acknowledged)] == acknowledged
    assert len(stored) - len(acknowledged) in (0, 1)  # the put in flight at the kill may have landed


def _without_retries(outputs: dict[str, Any]) -> Any:
    """A resource whose write in flight at the kill fails at once, instead of retrying until after the restart."""
    import boto3
    from botocore.config import Config

    creds = outputs["aws_credentials"]
    return boto3.resource(
        "dynamodb",
        endpoint_url=outputs["endpoints"]["dynamodb"],
        region_name=outputs["aws_region"],
        aws_access_key_id=creds["access_key_id"],
        aws_secret_access_key=creds["secret_access_key"],
        config=Config(retries={"max_attempts": 1}),
    )


def _query_all(table: Any, card_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"KeyConditionExpression": Key("id").eq(card_id), "Limit": 100}
    while True:
        page = table.query(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
