"""test_reconcile.py's world: a generated sample converted, loaded by the loaders into FerretDB, the Firestore
emulator, moto's DynamoDB and Kafka, moved to moto's S3 and the GCS emulator by the batch pipeline (dlt) and to S3
by an S3 sink connector, all under private outputs; and the checks its tests share on a reconciliation's report."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from _pipelines_records import delete_prefix

from components.connect.client import ConnectClient
from contract.clients import dynamodb_resource, firestore_client, gcs_client, mongo_client, s3_client
from contract.lake_readers import sink_prefix
from contract.outputs import StackOutputs
from contract.s3_sink import sink_config_for
from loaders.convert import convert_dir
from loaders.generate import generate_dataset
from loaders.load import load_dataset
from pipelines.batch.run import run_dataset
from pipelines.batch.settings import settings_from_outputs
from pipelines.reconcile.plan import Scope
from pipelines.reconcile.report import Limit, RunReport, StageReport, Thresholds
from pipelines.reconcile.run import reconcile
from pipelines.streaming.sink import wait_for_records
from schemas import load as load_schema

DATASETS = ["cards", "transactions"]


@dataclass
class World:
    outputs: StackOutputs
    scope: Scope
    source: Path
    tmp: Path
    stored: list[str]  # s3:// URLs of what the runs stored, removed at the end

    def run(self, **thresholds: Limit) -> RunReport:
        report = reconcile(self.outputs, DATASETS, self.scope, Thresholds(**thresholds))
        self.stored += [*report.stored.values(), report.page or ""]
        return report

    def records(self, dataset: str) -> list[dict[str, Any]]:
        lines = (self.source / f"{dataset}.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]


def _private(outputs: dict[str, Any], tag: str) -> StackOutputs:
    mine = copy.deepcopy(outputs)
    mine["mongodb_database"] = f"test-reconcile-{tag}"
    for key in ("firestore_collections", "dynamodb_tables", "kafka_topics"):
        mine[key] = {d: f"test-reconcile-{tag}-{key.split('_')[0]}-{d}" for d in DATASETS}
    mine["mongodb_collections"] = {d: f"test-reconcile-{d}" for d in DATASETS}
    mine["s3_sink"] = {**mine["s3_sink"], "topics": [mine["kafka_topics"]["cards"]]}
    return cast(StackOutputs, mine)


def _create_tables(outputs: StackOutputs) -> None:
    dynamodb = dynamodb_resource(outputs)
    for dataset, table in outputs["dynamodb_tables"].items():
        keys = load_schema(dataset).dynamodb_keys()
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": k.attribute, "KeyType": k.role} for k in keys],
            AttributeDefinitions=[{"AttributeName": k.attribute, "AttributeType": k.type} for k in keys],
            BillingMode="PAY_PER_REQUEST",
        ).wait_until_exists()


def kafka_admin(outputs: StackOutputs) -> Any:
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": outputs["kafka_bootstrap_servers"]})


def open_world(platform: Callable[..., dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The `world` fixture's body: everything built, yielded, then removed again."""
    from confluent_kafka.admin import NewTopic

    base = platform("moto", "ferretdb", "firestore", "gcs")
    tag = uuid.uuid4().hex[:8]
    outputs = _private(base, tag)
    tmp = tmp_path_factory.mktemp("reconcile")
    generate_dataset(tmp / "raw", 300, seed=11)
    assert convert_dir(tmp / "raw", tmp / "json").ok
    source = tmp / "json"
    _create_tables(outputs)
    topics = list(outputs["kafka_topics"].values())
    admin = kafka_admin(outputs)
    for future in admin.create_topics([NewTopic(t, num_partitions=3, replication_factor=1) for t in topics]).values():
        future.result(timeout=30)
    connect = ConnectClient.from_outputs(outputs, timeout_s=30.0)
    connector = f"test-reconcile-sink-{tag}"
    built = sink_config_for(outputs, tuple(outputs["s3_sink"]["topics"]), flush_size=1)  # every record at once
    connect.ensure(connector, {**built.config, **built.secret_config})
    prefix = f"test-reconcile-{tag}"
    stored: list[str] = []
    try:
        for target in ("mongodb", "firestore", "dynamodb", "kafka"):
            for dataset in DATASETS:
                report = load_dataset(target, dataset, outputs, source, progress=False, count=False)
                assert report.failed == 0, (target, dataset, report)
        settings = settings_from_outputs(outputs, prefix=prefix)
        for dataset in DATASETS:
            for lake in settings.lakes:
                run_dataset(settings, dataset, pipelines_dir=tmp / "dlt", lake=lake)
        cards = len((source / "cards.jsonl").read_text().splitlines())
        wait_for_records(outputs, outputs["kafka_topics"]["cards"], cards, timeout=120)
        scope = Scope(source_dir=source, dlt_target=settings.target, gcs_target=settings.gcs_target)
        yield World(outputs, scope, source, tmp, stored)
    finally:
        connect.delete(connector)
        admin.delete_topics(topics)
        s3 = s3_client(outputs)
        delete_prefix(s3, outputs["s3_buckets"]["landing"], prefix + "/")
        for blob in gcs_client(outputs).list_blobs(outputs["gcs_buckets"]["landing"], prefix=prefix + "/"):
            blob.delete()
        delete_prefix(s3, outputs["s3_sink"]["bucket"], sink_prefix(outputs, outputs["kafka_topics"]["cards"]))
        for url in filter(None, stored):
            bucket, key = url.removeprefix("s3://").split("/", 1)
            s3.delete_object(Bucket=bucket, Key=key)
        for dataset in DATASETS:
            dynamodb_resource(outputs).Table(outputs["dynamodb_tables"][dataset]).delete()
        client = mongo_client(outputs)
        client.drop_database(outputs["mongodb_database"])
        client.close()
        firestore = firestore_client(outputs)
        for dataset in DATASETS:
            for doc in firestore.collection(outputs["firestore_collections"][dataset]).stream():
                doc.reference.delete()
        del admin  # gone now, even while something still holds this generator's frame


def stage(report: RunReport, dataset: str, name: str) -> StageReport:
    found = next(d for d in report.datasets if d.dataset == dataset)
    return next(s for s in found.stages if s.stage == name)


def clean_except(report: RunReport, *faulty: tuple[str, str]) -> None:
    """Every stage of every dataset agrees with the source, except the (dataset, stage) pairs named."""
    for d in report.datasets:
        for s in d.stages:
            if (d.dataset, s.stage) in faulty:
                continue
            c = s.comparison
            assert s.error is None, (d.dataset, s.stage, s.error)
            assert (c.rows, c.missing.count, c.extra.count, c.duplicates.count, c.mismatched.count) == (
                d.reference_rows, 0, 0, 0, 0,
            ), (d.dataset, s.stage, c)  # fmt: skip


def assert_only_mismatch(report: RunReport, dataset: str, name: str, key: Any, column: str) -> None:
    """One row of `dataset` differs in `column` at stage `name`, named by key, and nothing else anywhere."""
    found = stage(report, dataset, name).comparison
    assert found.mismatched.first == [{"key": str(key), "columns": [column]}], found
    assert (found.mismatched.count, found.by_column) == (1, {column: 1}), found
    assert found.missing.count == found.extra.count == found.duplicates.count == 0, found
    clean_except(report, (dataset, name))
    assert report.failures() == [f"{dataset} {name}: 1 mismatched (max 0): key {key} differs in {column}"]
