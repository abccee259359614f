"""Reconciliation against real servers: a generated sample converted, loaded by the loaders into FerretDB,
the Firestore emulator, moto's DynamoDB and Kafka, moved to moto's S3 by the batch pipeline (dlt) and by an S3
sink connector, then reconciled. The clean run reconciles; each fault injected into one store (a row deleted,
an amount off by a cent, a date shifted by a time zone, a Kafka message sent twice, an extra lake row) is found
and named by stage, key and column, and only there; thresholds turn into exit codes.

The module has its own database, collections, tables, topics, connector and lake prefixes (private outputs; the
world is built in _reconcile_world.py, once for this module), so nothing shared with other tests or a demo can
interfere. Each fault is repaired after its test, except the Kafka duplicate (a log is append-only), which comes
last."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from _reconcile_world import World, assert_only_mismatch, clean_except, kafka_admin, open_world, stage

from contract.clients import dynamodb_resource, firestore_client, mongo_client, s3_client
from contract.lake_readers import sink_prefix, table_keys
from loaders.load import load_dataset
from pipelines.common import REPO_ROOT
from pipelines.reconcile.report import StageReport
from pipelines.reconcile.run import reconcile
from pipelines.streaming.sink import wait_for_records

pytestmark = pytest.mark.devstack
ALL_STAGES = {"source", "mongodb", "firestore", "dynamodb", "kafka", "lake-dlt", "lake-gcs", "lake-s3-sink"}


@pytest.fixture(scope="module")
def world(platform: Callable[..., dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from open_world(platform, tmp_path_factory)


def test_a_clean_run_reconciles_every_stage_and_is_stored_in_the_lake(world: World) -> None:
    report = world.run()

    assert report.ok, report.failures()
    for d in report.datasets:
        assert {s.stage for s in d.stages} == (ALL_STAGES if d.dataset == "cards" else ALL_STAGES - {"lake-s3-sink"})
        assert d.reference == "source" and d.reference_rows == len(world.records(d.dataset))
    clean_except(report)
    s3 = s3_client(world.outputs)
    stored = json.loads(s3.get_object(Bucket=world.outputs["s3_buckets"]["landing"],
                                      Key=f"reconciliation/cards/{report.run_id}.json")["Body"].read())  # fmt: skip
    assert stored["ok"] and stored["dataset"] == "cards" and stored["run_id"] == report.run_id
    assert report.page == f"s3://{world.outputs['s3_buckets']['landing']}/reconciliation/{report.run_id}.html"
    page = s3.get_object(Bucket=world.outputs["s3_buckets"]["landing"], Key=f"reconciliation/{report.run_id}.html")
    assert b"<svg" in page["Body"].read() and stored["page"] == report.page
    coverage = {s["stage"]: s["coverage"] for s in stored["stages"]}
    assert world.scope.dlt_target is not None
    load_files = table_keys(s3, world.scope.dlt_target, "mongodb", "cards")
    assert coverage["lake-dlt"]["load_ids"] == sorted({k.rsplit("/", 1)[-1].rsplit(".", 2)[0] for k in load_files})
    offsets = coverage["kafka"]["offsets"]
    assert sum(end - first for first, end in offsets.values()) == len(world.records("cards"))


def test_a_row_deleted_from_dynamodb_is_missing_there_by_key(world: World) -> None:
    victim = world.records("transactions")[17]
    table = dynamodb_resource(world.outputs).Table(world.outputs["dynamodb_tables"]["transactions"])
    table.delete_item(Key={"id": victim["id"]})
    try:
        report = world.run()
    finally:
        table.put_item(Item=json.loads(json.dumps(victim), parse_float=Decimal))

    assert not report.ok
    dynamo = stage(report, "transactions", "dynamodb")
    assert dynamo.comparison.missing.count == 1 and dynamo.comparison.missing.first == [str(victim["id"])]
    assert dynamo.comparison.mismatched.count == 0 and dynamo.comparison.segments_differing == 1
    clean_except(report, ("transactions", "dynamodb"))
    assert report.failures() == [f"transactions dynamodb: 1 missing (max 0): {victim['id']}"]


def test_an_amount_off_by_a_cent_in_mongodb_is_named_by_key_and_column(world: World) -> None:
    victim = world.records("transactions")[42]
    client = mongo_client(world.outputs)
    collection = client[world.outputs["mongodb_database"]][world.outputs["mongodb_collections"]["transactions"]]
    collection.update_one({"_id": str(victim["id"])}, {"$set": {"amount": round(victim["amount"] + 0.01, 2)}})
    try:
        report = world.run()
    finally:
        collection.update_one({"_id": str(victim["id"])}, {"$set": {"amount": victim["amount"]}})
        client.close()

    mongo = stage(report, "transactions", "mongodb")
    assert mongo.comparison.mismatched.first == [{"key": str(victim["id"]), "columns": ["amount"]}]
    assert mongo.comparison.by_column == {"amount": 1} and mongo.comparison.missing.count == 0
    clean_except(report, ("transactions", "mongodb"))
    assert report.failures() == [f"transactions mongodb: 1 mismatched (max 0): key {victim['id']} differs in amount"]


def test_a_date_shifted_by_a_time_zone_in_firestore_is_found_and_the_same_instant_elsewhere_is_not(
    world: World,
) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    shifted, same = world.records("transactions")[5], world.records("transactions")[6]
    collection = firestore_client(world.outputs).collection(world.outputs["firestore_collections"]["transactions"])
    # the wall-clock time read as Paris time: two hours off; the other one is the same instant as a timestamp
    collection.document(str(shifted["id"])).update({"date": shifted["date"] + "+02:00"})
    instant = datetime.fromisoformat(same["date"]).replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=-5)))
    collection.document(str(same["id"])).update({"date": instant})
    try:
        report = world.run()
    finally:
        for record in (shifted, same):
            collection.document(str(record["id"])).update({"date": record["date"]})

    firestore = stage(report, "transactions", "firestore")
    assert firestore.comparison.mismatched.first == [{"key": str(shifted["id"]), "columns": ["date"]}]
    assert firestore.comparison.mismatched.count == 1
    clean_except(report, ("transactions", "firestore"))


def test_an_extra_row_in_the_lake_is_named_by_key(world: World) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    s3, bucket = s3_client(world.outputs), world.outputs["s3_buckets"]["landing"]
    extra = {**world.records("transactions")[0], "id": 999_999_999, "_dlt_load_id": "9999999999.0", "_dlt_id": "x"}
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([extra]), buffer)
    assert world.scope.dlt_target is not None
    key = f"{world.scope.dlt_target.table_prefix('mongodb', 'transactions')}9999999999.0.extra.parquet"
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
    try:
        report = world.run()
    finally:
        s3.delete_object(Bucket=bucket, Key=key)

    lake = stage(report, "transactions", "lake-dlt")
    assert lake.comparison.extra.first == ["999999999"] and lake.comparison.rows == lake.comparison.keys
    assert "9999999999.0" in lake.coverage["load_ids"]
    clean_except(report, ("transactions", "lake-dlt"))


def test_since_a_load_id_reads_only_that_load_on_and_counts_no_missing_keys_there(world: World) -> None:
    from dataclasses import replace

    def lake(since: str) -> StageReport:
        scope = replace(world.scope, stages=("source", "lake-dlt"), since_load_id=since)
        report = reconcile(world.outputs, ["transactions"], scope, store=False)
        assert report.ok, report.failures()
        return stage(report, "transactions", "lake-dlt")

    (load_id,) = lake("0").coverage["load_ids"]
    assert lake(load_id).comparison.rows == len(world.records("transactions"))
    later = lake(load_id + "1")  # a later load than any: nothing read, and that is not "missing"
    assert (later.comparison.rows, later.complete, later.coverage["load_ids"]) == (0, False, [])


def test_thresholds_set_the_exit_code_and_json_names_the_key(world: World, tmp_path: Path) -> None:
    outputs_path = tmp_path / "outputs.json"
    outputs_path.write_text(json.dumps(world.outputs))
    victim = world.records("cards")[3]
    table = dynamodb_resource(world.outputs).Table(world.outputs["dynamodb_tables"]["cards"])
    table.delete_item(Key={"id": victim["id"], "client_id": victim["client_id"]})

    def cli(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipelines", "reconcile", "--outputs", str(outputs_path), "--source",
             str(world.source), "--dataset", "cards", "--stage", "source", "--stage", "dynamodb",
             "--no-store", "--html", str(tmp_path / "r.html"), *flags],
            cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip

    try:
        strict, loose = cli("--json"), cli("--max-missing", "1")
        percent_over, percent_under = cli("--max-missing", "0.1%"), cli("--max-missing", "50%")
    finally:
        table.put_item(Item=json.loads(json.dumps(victim), parse_float=Decimal))
    bad = cli("--max-missing", "many")

    assert strict.returncode == 1, strict.stderr
    body = json.loads(strict.stdout)
    dynamo = next(s for s in body["datasets"][0]["stages"] if s["stage"] == "dynamodb")
    assert dynamo["missing"] == {"count": 1, "first": [str(victim["id"])]}
    assert body["ok"] is False and body["failures"] == [f"cards dynamodb: 1 missing (max 0): {victim['id']}"]
    assert loose.returncode == 0, loose.stdout + loose.stderr
    assert "HTML report: " in loose.stdout and (tmp_path / "r.html").exists()
    assert percent_over.returncode == 1 and percent_under.returncode == 0
    assert bad.returncode == 2 and "'many' is not a row count" in bad.stderr


def test_an_amount_off_by_a_cent_in_dynamodb_is_named_by_key_and_column(world: World) -> None:
    victim = world.records("transactions")[23]
    table = dynamodb_resource(world.outputs).Table(world.outputs["dynamodb_tables"]["transactions"])
    table.update_item(
        Key={"id": victim["id"]},
        UpdateExpression="SET amount = :a",
        ExpressionAttributeValues={":a": Decimal(str(round(victim["amount"] + 0.01, 2)))},
    )
    try:
        report = world.run()
    finally:
        table.put_item(Item=json.loads(json.dumps(victim), parse_float=Decimal))

    assert_only_mismatch(report, "transactions", "dynamodb", victim["id"], "amount")


def test_an_amount_off_by_a_cent_on_kafka_is_named_by_key_and_column(world: World) -> None:
    """A log cannot be changed in place: the dataset, one amount off, is loaded by the loaders into a topic of
    this test's, which then stands for the dataset's topic."""
    from dataclasses import replace

    from confluent_kafka.admin import NewTopic

    records = world.records("transactions")
    victim = records[31]
    changed = [{**r, "amount": round(r["amount"] + 0.01, 2)} if r is victim else r for r in records]
    folder = world.tmp / f"kafka-mismatch-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    (folder / "transactions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in changed))
    outputs = copy.deepcopy(world.outputs)
    topic = outputs["kafka_topics"]["transactions"] + "-mismatch"
    outputs["kafka_topics"]["transactions"] = topic
    admin = kafka_admin(outputs)
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(timeout=30)
    try:
        loaded = load_dataset("kafka", "transactions", outputs, folder, progress=False, count=False)
        assert loaded.failed == 0 and loaded.written == len(records), loaded
        report = reconcile(outputs, ["transactions"], replace(world.scope, stages=("source", "kafka")), store=False)
    finally:
        admin.delete_topics([topic])

    assert_only_mismatch(report, "transactions", "kafka", victim["id"], "amount")


def test_an_amount_off_by_a_cent_in_dlt_s_lake_table_is_named_by_key_and_column(world: World) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    victim = world.records("transactions")[57]
    s3, bucket = s3_client(world.outputs), world.outputs["s3_buckets"]["landing"]
    assert world.scope.dlt_target is not None
    key, original = next(
        (k, body)
        for k in table_keys(s3, world.scope.dlt_target, "mongodb", "transactions")
        if (body := s3.get_object(Bucket=bucket, Key=k)["Body"].read())
        and any(row["id"] == victim["id"] for row in pq.read_table(io.BytesIO(body)).to_pylist())
    )  # fmt: skip
    table = pq.read_table(io.BytesIO(original))
    rows = table.to_pylist()
    for row in rows:
        if row["id"] == victim["id"]:
            amount = row["amount"]
            row["amount"] = amount + Decimal("0.01") if isinstance(amount, Decimal) else round(amount + 0.01, 2)
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), buffer)
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
    try:
        report = world.run()
    finally:
        s3.put_object(Bucket=bucket, Key=key, Body=original)

    assert_only_mismatch(report, "transactions", "lake-dlt", victim["id"], "amount")


def test_a_credit_limit_changed_in_the_s3_sink_s_objects_is_named_by_key_and_column(world: World) -> None:
    victim = world.records("cards")[9]
    s3, bucket = s3_client(world.outputs), world.outputs["s3_sink"]["bucket"]
    prefix = sink_prefix(world.outputs, world.outputs["kafka_topics"]["cards"])
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])]  # fmt: skip
    key, original = next(
        (k, body) for k in keys
        if (body := s3.get_object(Bucket=bucket, Key=k)["Body"].read())
        and any(json.loads(line)["id"] == victim["id"] for line in body.splitlines() if line.strip())
    )  # fmt: skip
    assert not key.endswith(".gz"), key  # the module's connector writes plain JSON lines
    lines = [
        json.dumps({**doc, "credit_limit": doc["credit_limit"] + 1}) if doc["id"] == victim["id"] else json.dumps(doc)
        for doc in (json.loads(line) for line in original.splitlines() if line.strip())
    ]
    s3.put_object(Bucket=bucket, Key=key, Body="".join(line + "\n" for line in lines).encode())
    try:
        report = world.run()
    finally:
        s3.put_object(Bucket=bucket, Key=key, Body=original)

    assert_only_mismatch(report, "cards", "lake-s3-sink", victim["id"], "credit_limit")


def test_a_message_sent_twice_to_kafka_is_a_duplicate_in_the_topic_and_in_the_lake(world: World) -> None:
    from confluent_kafka import Consumer, Producer, TopicPartition

    topic = world.outputs["kafka_topics"]["cards"]
    consumer = Consumer({"bootstrap.servers": world.outputs["kafka_bootstrap_servers"], "group.id": uuid.uuid4().hex})
    consumer.assign([TopicPartition(topic, 0, 0)])
    message = consumer.poll(30)
    consumer.close()
    assert message is not None and message.error() is None
    producer = Producer({"bootstrap.servers": world.outputs["kafka_bootstrap_servers"]})
    producer.produce(topic, value=message.value(), key=message.key(), partition=0)
    producer.flush(30)
    key = (message.key() or b"").decode()
    wait_for_records(world.outputs, topic, len(world.records("cards")) + 1, timeout=120)

    report = world.run()

    for name in ("kafka", "lake-s3-sink"):
        found = stage(report, "cards", name).comparison
        assert found.duplicates.first == [{"key": key, "copies": 2}] and found.duplicates.count == 1, name
        assert found.missing.count == found.extra.count == found.mismatched.count == 0
    clean_except(report, ("cards", "kafka"), ("cards", "lake-s3-sink"))
    assert any(line.startswith(f"cards kafka: 1 mismatched (max 0): key {key} 2 times") for line in report.failures())
