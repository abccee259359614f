"""What a target holds of a source's keys: how many, how many twice or more, how many not at all."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from contract.clients import dynamodb_resource, firestore_client, kafka_config, mongo_client, s3_client
from contract.lake_layout import parse_sink_object_name
from contract.lake_readers import sink_prefix
from loaders.sinks.kafka_checkpoint import TopicReader
from schemas import load as load_schema


@dataclass(frozen=True)
class Tally:
    source: int  # distinct keys at source
    in_target: int  # records in the target under those keys (a key twice counts twice)
    duplicates: int  # records beyond the first of a key
    lost: int  # source keys the target does not hold

    @property
    def exact(self) -> bool:
        return self.duplicates == 0 and self.lost == 0


def tally(source_keys: set[str], found: Iterable[str]) -> Tally:
    """Compare the keys found in a target (one per record, repeated when a record is there twice)."""
    counts = Counter(key for key in found if key in source_keys)
    total = sum(counts.values())
    return Tally(len(source_keys), total, total - len(counts), len(source_keys - counts.keys()))


def mongodb_keys(outputs: Mapping[str, Any], collection: str) -> list[str]:
    client = mongo_client(outputs)
    try:
        return [str(doc["_id"]) for doc in client[outputs["mongodb_database"]][collection].find({}, {"_id": 1})]
    finally:
        client.close()


def mongodb_count(outputs: Mapping[str, Any], collection: str) -> int:
    client = mongo_client(outputs)
    try:
        return int(client[outputs["mongodb_database"]][collection].count_documents({}))
    finally:
        client.close()


def drop_mongodb(outputs: Mapping[str, Any], collection: str) -> None:
    client = mongo_client(outputs)
    try:
        client[outputs["mongodb_database"]][collection].drop()
    finally:
        client.close()


def firestore_keys(outputs: Mapping[str, Any], collection: str, keys: set[str]) -> list[str]:
    """Looked up by id (the emulator lists no documents), 300 at a time."""
    client = firestore_client(outputs)
    refs = [client.collection(collection).document(key) for key in sorted(keys)]
    found: list[str] = []
    for start in range(0, len(refs), 300):
        found += [snap.id for snap in client.get_all(refs[start : start + 300]) if snap.exists]
    return found


def firestore_count(outputs: Mapping[str, Any], collection: str) -> int:
    result = firestore_client(outputs).collection(collection).count().get()
    return int(result[0][0].value)


def dynamodb_count(outputs: Mapping[str, Any], dataset: str) -> int:
    table = dynamodb_resource(outputs).Table(outputs["dynamodb_tables"][dataset])
    page: dict[str, Any] = table.scan(Select="COUNT")
    count = page["Count"]
    while "LastEvaluatedKey" in page:
        page = table.scan(Select="COUNT", ExclusiveStartKey=page["LastEvaluatedKey"])
        count += page["Count"]
    return int(count)


def dynamodb_keys(outputs: Mapping[str, Any], dataset: str) -> list[str]:
    schema = load_schema(dataset)
    table = dynamodb_resource(outputs).Table(outputs["dynamodb_tables"][dataset])
    names = list(schema.key)
    projection = {"ProjectionExpression": ", ".join(f"#k{i}" for i in range(len(names))),
                  "ExpressionAttributeNames": {f"#k{i}": n for i, n in enumerate(names)}}  # fmt: skip
    found: list[str] = []
    page: dict[str, Any] = table.scan(**projection)
    while True:
        found += [schema.document_id({k: _plain(v) for k, v in item.items()}) for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return found
        page = table.scan(ExclusiveStartKey=page["LastEvaluatedKey"], **projection)


def delete_dynamodb(outputs: Mapping[str, Any], dataset: str) -> None:
    """Empty the dataset's table (devstack's, provisioned with the account; the table itself stays)."""
    schema = load_schema(dataset)
    table = dynamodb_resource(outputs).Table(outputs["dynamodb_tables"][dataset])
    names = [key.attribute for key in schema.dynamodb_keys()]
    page: dict[str, Any] = table.scan(AttributesToGet=names)
    with table.batch_writer() as writer:
        while True:
            for item in page["Items"]:
                writer.delete_item(Key=item)
            if "LastEvaluatedKey" not in page:
                return
            page = table.scan(AttributesToGet=names, ExclusiveStartKey=page["LastEvaluatedKey"])


def _plain(value: Any) -> Any:
    """DynamoDB's Decimal numbers as the schema's ints, so ids read back as the loaders wrote them."""
    return int(value) if hasattr(value, "as_integer_ratio") and value == int(value) else value


def kafka_keys(outputs: Mapping[str, Any], topic: str, since: Mapping[int, int]) -> list[str]:
    """The key of every record on `topic` at or after the offsets `since` (end offsets taken before the case)."""
    reader = TopicReader(outputs["kafka_bootstrap_servers"], topic, kafka_config(outputs, log_level=0))
    try:
        ends = reader.end_offsets(10)
        ranges = {p: (since.get(p, low), high) for p, (low, high) in ends.items()}
        return [key for key, _partition, _offset in reader.keys(ranges)]
    finally:
        reader.close()


#: S3's LastModified has whole seconds: an object written in the trial's first second is still the trial's
CLOCK_SLACK_S = 2.0


def lake_keys(
    outputs: Mapping[str, Any], topic: str, dataset: str, since: Mapping[int, int], written_since: float = 0.0
) -> list[str]:
    """The key of every line of every object the S3 sink wrote for `topic` at offsets >= `since`: a record
    re-delivered into a second object counts twice (contract.lake_readers' reader keeps one per offset).
    Only objects that can hold such offsets are read: a lake that other runs filled is listed, not downloaded.
    `written_since` (epoch seconds) leaves out objects written before it: a topic deleted and created again starts
    its offsets at 0 anew, and the objects of its earlier incarnation carry the same offsets."""
    schema = load_schema(dataset)
    s3, bucket = s3_client(outputs), outputs["s3_sink"]["bucket"]
    found: list[str] = []
    for key in _objects_from(s3, bucket, sink_prefix(outputs, topic), since, written_since):
        partition, first = _object_offsets(key)
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        lines = [line for line in _text(key, body).splitlines() if line.strip()]
        start = since.get(partition, 0)
        found += [schema.document_id(_json(line)) for i, line in enumerate(lines) if first + i >= start]
    return found


def _objects_from(s3: Any, bucket: str, prefix: str, since: Mapping[int, int], written_since: float) -> list[str]:
    """Each partition's objects that start at or after `since`, and the last few before, which may run into it (a
    batch open at `since`, or a re-delivery of it cut elsewhere)."""
    by_partition: dict[int, list[tuple[int, str]]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["LastModified"].timestamp() < written_since - CLOCK_SLACK_S:
                continue
            partition, first = _object_offsets(obj["Key"])
            by_partition.setdefault(partition, []).append((first, obj["Key"]))
    keys: list[str] = []
    for partition, objects in by_partition.items():
        objects.sort()
        start = since.get(partition, 0)
        before = [key for first, key in objects if first < start][-3:]
        keys += before + [key for first, key in objects if first >= start]
    return keys


def _object_offsets(key: str) -> tuple[int, int]:
    """`.../cards-data+2+0000000042.json[.gz]` -> (2, 42)."""
    name = parse_sink_object_name(key)
    return name.partition, name.start_offset


def _text(key: str, body: bytes) -> str:
    import gzip

    return (gzip.decompress(body) if key.endswith(".gz") else body).decode("utf-8")


def _json(line: str) -> dict[str, Any]:
    import json

    value: dict[str, Any] = json.loads(line)
    return value
