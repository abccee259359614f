"""Object and key-value storage (devstack): google-cloud-storage against the GCS emulator, boto3 against the S3
gateway and DynamoDB, each client built from the stack outputs as the loaders build theirs: what the loaders, dlt
(s3fs), the S3 sink and the reconciler rely on."""

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
    outputs = devstack("s3")
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

    outputs = devstack("dynamodb")
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


def test_s3_metadata_delimiter_pages_delete_and_multipart(devstack: Any) -> None:
    outputs = devstack("s3")
    s3 = _aws("client", "s3", outputs)
    bucket = outputs["s3_buckets"]["landing"]
    prefix = f"devstack-test/{uuid.uuid4().hex[:8]}/"
    keys = [f"{prefix}{folder}/{n}.json" for folder in ("a", "b") for n in range(3)] + [f"{prefix}top.json"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode(), Metadata={"Dataset": "cards", "key-name": key})

    head = s3.head_object(Bucket=bucket, Key=keys[0])
    assert head["Metadata"] == {"dataset": "cards", "key-name": keys[0]}  # S3 lowercases x-amz-meta-* names
    assert head["ContentLength"] == len(keys[0])
    folders = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter="/")
    assert [p["Prefix"] for p in folders["CommonPrefixes"]] == [f"{prefix}a/", f"{prefix}b/"]
    assert [o["Key"] for o in folders["Contents"]] == [f"{prefix}top.json"]
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": 2})
    )
    assert len(pages) == 4 and [o["Key"] for p in pages for o in p["Contents"]] == sorted(keys)

    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[:3]]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == keys[:3]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]] == sorted(keys[3:])

    big = random.Random(5).randbytes(5 * 1024 * 1024 + 7)  # a 5 MiB part, S3's smallest but the last, and 7 bytes
    key = f"{prefix}multipart.bin"
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, Metadata={"parts": "2"})["UploadId"]
    etags = [
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=n, Body=body)["ETag"]
        for n, body in ((1, big[: 5 * 1024 * 1024]), (2, big[5 * 1024 * 1024 :]))
    ]
    parts = [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, start=1)]
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})
    got = s3.get_object(Bucket=bucket, Key=key)
    assert (got["Body"].read(), got["Metadata"], got["ETag"].strip('"').endswith("-2")) == (big, {"parts": "2"}, True)


def test_dynamodb_parallel_scan_pages_and_table_listing(devstack: Any) -> None:
    outputs = devstack("dynamodb")
    client = _aws("client", "dynamodb", outputs)
    name = f"devstack-scan-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"},
        ],
    )
    try:
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
        described = client.describe_table(TableName=name)["Table"]
        assert (described["TableStatus"], described["BillingModeSummary"]["BillingMode"]) == (
            "ACTIVE",
            "PAY_PER_REQUEST",
        )
        table = _aws("resource", "dynamodb", outputs).Table(name)
        written = {(f"k{i % 50}", i) for i in range(250)}
        with table.batch_writer() as batch:
            for pk, n in written:
                batch.put_item(Item={"id": pk, "n": n, "pad": "x" * 100})

        segments = []
        for segment in range(4):
            pages = client.get_paginator("scan").paginate(
                TableName=name, Segment=segment, TotalSegments=4, PaginationConfig={"PageSize": 30}
            )
            segments.append({(i["id"]["S"], int(i["n"]["N"])) for page in pages for i in page["Items"]})
        assert set().union(*segments) == written
        assert sum(len(s) for s in segments) == len(written)  # no item in two segments
        assert sum(1 for s in segments if s) > 1  # the segments split the table

        tables = client.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 1})
        listed = [t for page in tables for t in page["TableNames"]]
        assert {name, *outputs["dynamodb_tables"].values()} <= set(listed) and len(listed) == len(set(listed))
    finally:
        client.delete_table(TableName=name)
