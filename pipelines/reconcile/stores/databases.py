"""The sinks that are databases: MongoDB, Firestore, DynamoDB, each read in one paged pass."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contract.clients import dynamodb_resource, firestore_client, mongo_client
from contract.errors import TargetUnreachable, probe_endpoint
from contract.outputs import StackOutputs
from pipelines.reconcile.stores import StoreError

PAGE = 2000


class MongoStore:
    stage = "mongodb"
    complete = True

    def __init__(self, outputs: StackOutputs, collection: str) -> None:
        self.outputs, self.collection = outputs, collection
        self.where = f"{outputs['mongodb_database']}.{collection}"
        self.coverage: dict[str, Any] = {}

    def records(self) -> Iterator[dict[str, Any]]:
        from pymongo.errors import PyMongoError

        client = mongo_client(self.outputs)
        try:
            cursor = client[self.outputs["mongodb_database"]][self.collection].find({}, {"_id": 0}, batch_size=PAGE)
            yield from cursor
        except PyMongoError as exc:
            raise StoreError(f"mongodb {self.where}: {str(exc).split(', Timeout:')[0]}") from None
        finally:
            client.close()


class FirestoreStore:
    stage = "firestore"
    complete = True

    def __init__(self, outputs: StackOutputs, collection: str) -> None:
        self.outputs, self.collection = outputs, collection
        self.where = f"{outputs['firestore_database']}/{collection}"
        self.coverage: dict[str, Any] = {}

    def records(self) -> Iterator[dict[str, Any]]:
        from google.api_core import exceptions

        _reachable("firestore", f"firestore {self.where}", (self.outputs.get("endpoints") or {}).get("firestore"))
        client = firestore_client(self.outputs)
        try:
            for snapshot in client.collection(self.collection).stream():
                yield snapshot.to_dict() or {}
        except exceptions.GoogleAPICallError as exc:
            raise StoreError(f"firestore {self.where}: {exc.message}") from None
        finally:
            client.close()


class DynamoStore:
    stage = "dynamodb"
    complete = True

    def __init__(self, outputs: StackOutputs, table: str) -> None:
        self.outputs, self.table = outputs, table
        self.where = f"dynamodb table {table}"
        self.coverage: dict[str, Any] = {}

    def records(self) -> Iterator[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        _reachable("dynamodb", self.where, (self.outputs.get("endpoints") or {}).get("dynamodb"))
        table = dynamodb_resource(self.outputs).Table(self.table)
        kwargs: dict[str, Any] = {}  # DynamoDB's own 1 MB pages: fewer round trips than any Limit
        try:
            while True:
                page = table.scan(**kwargs)
                yield from page["Items"]
                if "LastEvaluatedKey" not in page:
                    return
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (BotoCoreError, ClientError) as exc:
            raise StoreError(f"{self.where}: {exc}") from None


def _reachable(service: str, where: str, endpoint: str | None) -> None:
    """A TCP connect to an emulator's endpoint first: its client library would retry a dead one for minutes
    (Firestore's query stream, boto3's adaptive mode) before saying anything."""
    try:
        probe_endpoint(service, endpoint)
    except TargetUnreachable as exc:
        raise StoreError(f"{where}: {exc}") from None
