"""Object and key-value storage (devstack): google-cloud-storage against the GCS emulator, boto3 S3 and DynamoDB
against moto, each client built from the stack outputs as the loaders build theirs."""

from __future__ import annotations

import json
import random
import uuid
from decimal import Decimal
from typing import Any

import pytest
from _streaming_records import cards_record

pytestmark = pytest.mark.devstack


def _gcs_client(outputs: dict[str, Any]) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.storage import Client

    return Client(
        project=outputs["gcp_project"],
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": outputs["endpoints"]["gcs"]},
    )


def _aws(kind: str, service: str, outputs: dict[str, Any]) -> Any:
    import boto3

    creds = outputs["aws_credentials"]
    factory = boto3.client if kind == "client" else boto3.resource
    return factory(
        service,
        endpoint_url=outputs["endpoints"][service],
        region_name=outputs["aws_region"],
        aws_access_key_id=creds["access_key_id"],
        aws_secret_access_key=creds["secret_access_key"],
    )


def test_gcs_buckets_are_provisioned(devstack: Any) -> None:
    outputs = devstack("gcs")
    names = {b.name for b in _gcs_client(outputs).list_buckets()}
    assert set(outputs["gcs_buckets"].values()) <= names


def test_gcs_upload_download_and_list_by_prefix(devstack: Any) -> None:
    outputs = devstack("gcs")
    client = _gcs_client(outputs)
    bucket = client.bucket(outputs["gcs_buckets"]["landing"])
    prefix = f"devstack-test/{uuid.uuid4().hex[:8]}"
    records = [cards_record(i) for i in range(3)]

    for rec in records:
        bucket.blob(f"{prefix}/cards/{rec['id']}.json").upload_from_string(
            json.dumps(rec), content_type="application/json"
        )
    # above the client's 8 MiB threshold: a resumable upload, continued at the URL the emulator hands out
    big = random.Random(7).randbytes(9 * 1024 * 1024)
    bucket.blob(f"{prefix}/big.bin").upload_from_string(big)

    listed = sorted(b.name for b in client.list_blobs(bucket, prefix=f"{prefix}/cards/"))
    assert listed == [f"{prefix}/cards/{i}.json" for i in range(3)]
    read_back = json.loads(bucket.blob(f"{prefix}/cards/1.json").download_as_bytes())
    assert read_back == records[1]
    blob = bucket.get_blob(f"{prefix}/cards/1.json")
    assert blob is not None and blob.content_type == "application/json"
    assert bucket.blob(f"{prefix}/big.bin").download_as_bytes() == big

    bucket.blob(f"{prefix}/cards/0.json").delete()
    assert [b.name for b in client.list_blobs(bucket, prefix=f"{prefix}/cards/")] == listed[1:]


def test_s3_put_get_list(devstack: Any) -> None:
    outputs = devstack("moto")
    s3 = _aws("client", "s3", outputs)
    bucket = outputs["s3_buckets"]["landing"]
    prefix = f"devstack-test/{uuid.uuid4().hex[:8]}"
    body = json.dumps(cards_record(42)).encode()

    s3.put_object(Bucket=bucket, Key=f"{prefix}/cards/42.json", Body=body, ContentType="application/json")
    s3.put_object(Bucket=bucket, Key=f"{prefix}/other.txt", Body=b"x")

    got = s3.get_object(Bucket=bucket, Key=f"{prefix}/cards/42.json")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/json"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/cards/")["Contents"]]
    assert keys == [f"{prefix}/cards/42.json"]


def test_dynamodb_batch_writer_and_query_on_the_cards_table(devstack: Any) -> None:
    from boto3.dynamodb.conditions import Key

    outputs = devstack("moto")
    table = _aws("resource", "dynamodb", outputs).Table(outputs["dynamodb_tables"]["cards"])
    schema = {k["AttributeName"]: k["KeyType"] for k in table.key_schema}
    assert schema == {"id": "HASH", "client_id": "RANGE"}

    base = random.randrange(10**9, 2 * 10**9)  # ids of our own, so reruns on a kept stack don't collide
    items = []
    for card_id in range(base, base + 3):
        for client_id in range(10):
            rec = {**cards_record(card_id), "client_id": client_id}
            items.append(json.loads(json.dumps(rec), parse_float=Decimal))  # DynamoDB numbers are Decimals
    with table.batch_writer() as batch:  # more items than one BatchWriteItem call (25) takes
        for item in items:
            batch.put_item(Item=item)

    resp = table.query(KeyConditionExpression=Key("id").eq(base + 1) & Key("client_id").gte(5))
    assert [int(i["client_id"]) for i in resp["Items"]] == [5, 6, 7, 8, 9]
    first = resp["Items"][0]
    assert first["card_brand"] == "Visa" and first["credit_limit"] == Decimal("24295.0")
    assert table.query(KeyConditionExpression=Key("id").eq(base + 2))["Count"] == 10
    assert table.query(KeyConditionExpression=Key("id").eq(base + 3))["Count"] == 0
