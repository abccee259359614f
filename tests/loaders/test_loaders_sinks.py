"""Loads against the real local services (devstack): counts and field values read back from each target,
idempotent re-runs, and the CLI fed an outputs file. A Kafka load killed halfway and resumed:
test_loaders_kafka_sink.py; the lanes that write batches concurrently: test_loaders_lanes.py."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from _loaders_records import private_outputs, read_records

from loaders.cli import main as cli
from loaders.load import load_dataset

pytestmark = pytest.mark.devstack


def test_mongodb_documents_from_checked_lines_are_the_records_under_their_ids(
    platform: Any, converted: Path, tmp_path: Path
) -> None:
    """Lines the kernel accepts become documents with the id spliced in (one with leading whitespace too), lines
    left to the full check (an escape) in their place, and a key's later version wins across both paths."""
    import pymongo

    outputs = private_outputs(platform("ferretdb"), "transactions", "mongodb_collections")
    records = read_records(converted, "transactions")[:300]
    again = {**records[5], "amount": 1234.5}  # a second version of record 5's key, later in the file
    escaped = {**records[9], "merchant_city": "Montréal"}
    lines = [json.dumps(r, separators=(",", ":")) for r in records]
    lines[3] = "  \t" + lines[3]
    lines[9] = json.dumps(escaped)  # ensure_ascii: \u00e9, which the kernel leaves to the full check
    lines.append(json.dumps(again, separators=(",", ":")))
    (tmp_path / "transactions.jsonl").write_text("\n".join(lines) + "\n")
    report = load_dataset("mongodb", "transactions", outputs, tmp_path, progress=False)
    assert (report.read, report.written, report.failed, report.in_target) == (301, 301, 0, 300)
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(outputs["mongodb_uri"])
    collection = client[outputs["mongodb_database"]][outputs["mongodb_collections"]["transactions"]]
    try:
        stored = {doc.pop("_id"): doc for doc in collection.find()}
        expected = {str(r["id"]): r for r in [*records[:5], again, *records[6:9], escaped, *records[10:]]}
        assert stored == expected
    finally:
        collection.drop()
        client.close()


def test_mongodb_round_trip_and_idempotent_rerun(platform: Any, converted: Path) -> None:
    import pymongo

    outputs = private_outputs(platform("ferretdb"), "cards", "mongodb_collections")
    first = load_dataset("mongodb", "cards", outputs, converted, progress=False)
    second = load_dataset("mongodb", "cards", outputs, converted, progress=False)
    source = read_records(converted, "cards")
    assert (first.read, first.written, first.failed) == (len(source), len(source), 0)
    assert second.in_target == first.in_target == len(source)
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(outputs["mongodb_uri"])
    collection = client[outputs["mongodb_database"]][outputs["mongodb_collections"]["cards"]]
    try:
        stored = collection.find_one({"_id": str(source[7]["id"])})
        assert stored is not None and {k: stored[k] for k in source[7]} == source[7]
    finally:
        collection.drop()
        client.close()


def test_firestore_round_trip_and_idempotent_rerun(platform: Any, converted: Path) -> None:
    from google.cloud import firestore  # type: ignore[attr-defined]

    outputs = private_outputs(platform("firestore"), "users", "firestore_collections")
    first = load_dataset("firestore", "users", outputs, converted, progress=False)
    second = load_dataset("firestore", "users", outputs, converted, progress=False)
    source = read_records(converted, "users")
    assert first.written == len(source) and second.in_target == len(source)
    client = firestore.Client(project=outputs["gcp_project"])
    doc = client.collection(outputs["firestore_collections"]["users"]).document(str(source[3]["id"])).get()
    assert doc.to_dict() == source[3]


def test_dynamodb_round_trip_with_decimals(platform: Any, converted: Path) -> None:
    from contract.clients import dynamodb_resource

    outputs = platform("moto")
    report = load_dataset("dynamodb", "cards", outputs, converted, progress=False)
    again = load_dataset("dynamodb", "cards", outputs, converted, progress=False)
    source = read_records(converted, "cards")
    assert report.written == again.written == len(source) and report.failed == 0
    table = dynamodb_resource(outputs).Table(outputs["dynamodb_tables"]["cards"])
    card = source[11]
    item = table.get_item(Key={"id": card["id"], "client_id": card["client_id"]})["Item"]
    assert item["credit_limit"] == Decimal(str(card["credit_limit"]))
    assert item["card_brand"] == card["card_brand"] and item["has_chip"] is card["has_chip"]


def test_dynamodb_without_a_table_for_the_dataset_is_a_clear_error(
    platform: Any, converted: Path, outputs_file: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = platform("moto")
    assert "mcc_codes" not in outputs["dynamodb_tables"] and (converted / "mcc_codes.jsonl").exists()
    # the stack's real outputs, so the CLI gets as far as the missing table (an unreadable file exits 1 before it)
    command = ["load", "-d", "dynamodb", "--dataset", "mcc_codes", "--outputs", str(outputs_file(outputs)),
               "--source", str(converted), "--no-progress"]  # fmt: skip
    capsys.readouterr()
    assert cli(command) == 1
    err = capsys.readouterr().err
    assert "dynamodb: the stack declares no table for dataset 'mcc_codes'" in " ".join(err.split()), err
    assert "Traceback" not in err
    from loaders.load import LoadError

    with pytest.raises(LoadError, match="no table for dataset 'mcc_codes'"):
        load_dataset("dynamodb", "mcc_codes", outputs, converted, progress=False)


def test_outputs_file_and_devstack_outputs_load_the_same(platform: Any, converted: Path, outputs_file: Any) -> None:
    """The CLI fed an outputs file and load_dataset fed the outputs, each into a table of its own: the same items,
    each the source's record."""
    outputs = platform("moto")
    by_file, direct = (private_outputs(outputs, "users", "dynamodb_tables") for _ in range(2))
    tables = [_create_table(o, "users") for o in (by_file, direct)]
    try:
        assert cli(["load", "-d", "dynamodb", "--dataset", "users", "--outputs", str(outputs_file(dict(by_file))),
                    "--source", str(converted), "--no-progress"]) == 0  # fmt: skip
        load_dataset("dynamodb", "users", direct, converted, progress=False)
        loaded = [_scan(table) for table in tables]
    finally:
        for table in tables:
            table.delete()
    source = read_records(converted, "users")
    assert loaded[0] == loaded[1]
    assert len(loaded[0]) == len(source)
    item = loaded[0][str(source[7]["id"])]
    assert {k: float(v) if isinstance(v, Decimal) else v for k, v in item.items()} == source[7]


def _create_table(outputs: Mapping[str, Any], dataset: str) -> Any:
    from contract.clients import dynamodb_resource
    from schemas import load as load_schema

    keys = load_schema(dataset).dynamodb_keys()
    return dynamodb_resource(outputs).create_table(
        TableName=outputs["dynamodb_tables"][dataset],
        KeySchema=[{"AttributeName": k.attribute, "KeyType": k.role} for k in keys],
        AttributeDefinitions=[{"AttributeName": k.attribute, "AttributeType": k.type} for k in keys],
        BillingMode="PAY_PER_REQUEST",
    )


def _scan(table: Any) -> dict[str, dict[str, Any]]:
    """Every item of the table, by id."""
    items: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {}
    while True:
        page = table.scan(**kwargs)
        items.update({str(item["id"]): item for item in page["Items"]})
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_dynamodb_items_carry_the_floats_json_digits() -> None:
    from loaders.sinks.dynamodb import to_item

    record = {"id": 1, "amount": 0.1 + 0.2, "limit": 1e16, "tiny": 1e-7, "nested": {"x": [2.5, "a"]}, "none": None}
    assert to_item(record) == json.loads(json.dumps(record), parse_float=Decimal)
    assert str(to_item(record)["amount"]) == "0.30000000000000004"
