"""The reconcile stores that read in parallel or as a stream return every record once: DynamoDB's Scan in segments
at once (items across segment and page boundaries), the S3 sink's objects streamed as the listing comes (a batch
re-cut into two objects of one folder counted once, the same record in two folders twice, `since` respected).
Against devstack's DynamoDB and S3."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, cast

import pytest

from contract.clients import dynamodb_client, dynamodb_resource, s3_client
from contract.lake_layout import default_partition_folder, sink_object_name
from contract.lake_readers import read_sink_records, stream_sink_records
from contract.outputs import StackOutputs
from pipelines.reconcile.stores.databases import DynamoStore

pytestmark = pytest.mark.devstack


def test_a_parallel_scan_returns_every_item_once_across_segments_and_pages(
    devstack: Callable[..., dict[str, Any]],
) -> None:
    outputs = devstack("dynamodb")
    client, name = dynamodb_client(outputs), f"reconcile-scan-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
    )
    try:
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
        with dynamodb_resource(outputs).Table(name).batch_writer() as batch:
            for i in range(301):
                batch.put_item(Item={"id": i, "amount": f"{i}.5"})
        for segments, limit in ((1, None), (3, 7), (7, 1)):  # a page of 1: every item a page boundary
            store = DynamoStore(cast(StackOutputs, outputs), name, segments=segments, limit=limit)
            seen = Counter(int(item["id"]) for item in store.records())
            assert sorted(seen) == list(range(301)) and set(seen.values()) == {1}, (segments, limit)
    finally:
        client.delete_table(TableName=name)


def test_the_sink_s_objects_stream_once_per_record_as_the_whole_read_does(
    devstack: Callable[..., dict[str, Any]],
) -> None:
    substrate = devstack("moto")
    run = uuid.uuid4().hex[:8]
    bucket, topic, prefix = f"reconcile-stream-{run}", f"t-{run}", "topics"
    outputs = {**substrate, "s3_sink": {"bucket": bucket, "prefix": prefix}}
    s3 = s3_client(outputs)
    s3.create_bucket(Bucket=bucket)

    def put(folder: str, partition: int, first: int, ids: list[int]) -> None:
        key = sink_object_name(prefix, topic, folder, partition, first)
        s3.put_object(Bucket=bucket, Key=key, Body="".join(json.dumps({"id": i}) + "\n" for i in ids).encode())

    p0, p1 = default_partition_folder(0), default_partition_folder(1)
    put(p0, 0, 0, [0, 1, 2, 3])
    put(p0, 0, 2, [2, 3, 4, 5])  # a batch re-delivered and cut differently: offsets 2 and 3 twice
    put(p0, 0, 6, [6])
    put(p1, 1, 0, [10, 11])
    put("dt=2026-12-07", 1, 1, [11, 12])  # offset 1 of partition 1 in a second folder too: two copies
    try:
        streamed = [(r.partition, r.offset, r.value["id"]) for r in stream_sink_records(outputs, topic, s3=s3)]
        whole = [(r.partition, r.offset, r.value["id"]) for r in read_sink_records(outputs, topic, s3=s3)]
        assert sorted(streamed) == whole
        assert Counter(i for _, _, i in streamed) == Counter([0, 1, 2, 3, 4, 5, 6, 10, 11, 11, 12])
        since = [(r.partition, r.offset) for r in stream_sink_records(outputs, topic, {0: 5, 1: 1}, s3)]
        assert sorted(since) == [(0, 5), (0, 6), (1, 1), (1, 1), (1, 2)]
    finally:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=obj["Key"])
        s3.delete_bucket(Bucket=bucket)
