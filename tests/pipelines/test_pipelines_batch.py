"""The batch pipeline against real servers: documents in FerretDB (MongoDB wire protocol) land in the moto S3
bucket through dlt and are read back from the bucket, independently of dlt (boto3 + pyarrow).

Each test uses its own MongoDB database and its own key prefix in the landing bucket, so tests (and a demo
running beside them) never see each other's data."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from _pipelines_records import card, delete_prefix, fresh_mongo_database, transaction, unique, with_mongo_id

from contract.clients import s3_client
from contract.lake_readers import read_table, table_keys
from pipelines.batch.run import SchemaContractViolation, run_batch, run_dataset
from pipelines.batch.settings import BatchSettings, settings_from_outputs
from pipelines.common import REPO_ROOT

pytestmark = pytest.mark.devstack


@pytest.fixture(scope="module")
def outputs(platform: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return platform("ferretdb", "moto")


@pytest.fixture
def mongo(outputs: dict[str, Any]) -> Iterator[Any]:
    with fresh_mongo_database(outputs, "test-batch") as db:
        yield db


@pytest.fixture
def settings(outputs: dict[str, Any], mongo: Any) -> Iterator[BatchSettings]:
    # the S3 lake only (its server is the one this module starts): test_pipelines_batch_gcs.py covers both lakes
    settings = replace(
        settings_from_outputs(outputs, database=mongo.name, prefix=unique("test-batch")), gcs_target=None
    )
    yield settings
    delete_prefix(s3_client(outputs), settings.target.bucket, settings.target.prefix + "/")


def insert(mongo: Any, outputs: dict[str, Any], dataset: str, records: list[dict[str, Any]]) -> None:
    mongo[outputs["mongodb_collections"][dataset]].insert_many([with_mongo_id(r) for r in records])


def lake(outputs: dict[str, Any], settings: BatchSettings, table: str) -> list[dict[str, Any]]:
    rows = read_table(s3_client(outputs), settings.target, settings.dataset_name, table)
    return sorted(rows, key=lambda r: r["id"])


def test_documents_land_in_the_bucket_field_for_field(
    outputs: dict[str, Any], mongo: Any, settings: BatchSettings, tmp_path: Path
) -> None:
    transactions = [transaction(i) for i in range(700)]
    cards = [card(i) for i in range(60)]
    insert(mongo, outputs, "transactions", transactions)
    insert(mongo, outputs, "cards", cards)

    loads = run_batch(settings, ["transactions", "cards"], pipelines_dir=tmp_path)

    assert [(ld.dataset, ld.rows, ld.write_disposition) for ld in loads] == [
        ("transactions", 700, "append"),
        ("cards", 60, "replace"),
    ]
    assert lake(outputs, settings, "transactions") == transactions  # every field, nulls included, no `_id`
    assert lake(outputs, settings, "cards") == cards
    keys = table_keys(s3_client(outputs), settings.target, settings.dataset_name, "transactions")
    assert keys and all(k.endswith(".parquet") for k in keys)
    assert all(k.startswith(f"{settings.target.prefix}/mongodb/transactions/") for k in keys)


def test_second_run_loads_only_new_rows_and_replaces_the_rest(
    outputs: dict[str, Any], mongo: Any, settings: BatchSettings, tmp_path: Path
) -> None:
    insert(mongo, outputs, "transactions", [transaction(i) for i in range(300)])
    insert(mongo, outputs, "cards", [card(i) for i in range(20)])
    first = run_batch(settings, ["transactions", "cards"], pipelines_dir=tmp_path / "worker-1")
    assert [ld.rows for ld in first] == [300, 20]

    insert(mongo, outputs, "transactions", [transaction(i) for i in range(300, 420)])
    mongo[outputs["mongodb_collections"]["cards"]].update_one({"_id": "3"}, {"$set": {"credit_limit": 99.5}})
    second = run_batch(settings, ["transactions", "cards"], pipelines_dir=tmp_path / "worker-1")
    assert [ld.rows for ld in second] == [120, 20]  # only the new transactions; cards are replaced whole

    lake_transactions = lake(outputs, settings, "transactions")
    assert [r["id"] for r in lake_transactions] == [transaction(i)["id"] for i in range(420)]  # no doubles
    lake_cards = lake(outputs, settings, "cards")
    assert len(lake_cards) == 20
    assert lake_cards[3] == card(3, credit_limit=99.5)

    # another worker without local dlt state (a fresh Airflow worker) continues from the state in the bucket
    third = run_dataset(settings, "transactions", pipelines_dir=tmp_path / "worker-2")
    assert third.rows == 0 and third.load_id is None
    insert(mongo, outputs, "transactions", [transaction(420)])
    assert run_dataset(settings, "transactions", pipelines_dir=tmp_path / "worker-2").rows == 1
    assert len(lake(outputs, settings, "transactions")) == 421


def test_a_new_field_or_type_change_is_reported_not_absorbed(
    outputs: dict[str, Any], mongo: Any, settings: BatchSettings, tmp_path: Path
) -> None:
    collection = mongo[outputs["mongodb_collections"]["transactions"]]
    insert(mongo, outputs, "transactions", [transaction(i) for i in range(50)])
    # even on the very first run: the table is declared from schemas/, so the contract holds from row one
    collection.insert_one(with_mongo_id({**transaction(50), "channel": "app"}))
    with pytest.raises(SchemaContractViolation, match="channel") as info:
        run_dataset(settings, "transactions", pipelines_dir=tmp_path)
    assert info.value.dataset == "transactions"
    assert lake(outputs, settings, "transactions") == []  # nothing of that run was loaded

    collection.delete_one({"_id": str(transaction(50)["id"])})
    assert run_dataset(settings, "transactions", pipelines_dir=tmp_path).rows == 50  # not stuck on the failure

    collection.insert_one(with_mongo_id({**transaction(51), "amount": "$12.00"}))  # a string where a number is
    with pytest.raises(SchemaContractViolation, match="amount"):
        run_dataset(settings, "transactions", pipelines_dir=tmp_path)
    assert len(lake(outputs, settings, "transactions")) == 50

    # discard_row: the conforming rows load, the offending one does not
    collection.insert_one(with_mongo_id(transaction(52)))
    load = run_dataset(settings, "transactions", pipelines_dir=tmp_path, contract="discard_row", readers=2)
    assert load.rows == 1
    ids = [r["id"] for r in lake(outputs, settings, "transactions")]
    assert ids[-1] == transaction(52)["id"] and len(ids) == len(set(ids)) == 51
    # the page holding the offending row went as rows, the others as Arrow: read again by one reader (see
    # mongodb.MixedPages), so the state is right: nothing new, nothing twice
    assert run_dataset(settings, "transactions", pipelines_dir=tmp_path, readers=2).rows == 0


def test_cli_writes_json_lines_on_request(
    outputs: dict[str, Any],
    mongo: Any,
    outputs_file: Callable[[dict[str, Any]], Path],
    tmp_path: Path,
) -> None:
    insert(mongo, outputs, "cards", [card(i) for i in range(25)])
    prefix = unique("test-batch-cli")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines",
            "batch",
            "--outputs",
            str(outputs_file(outputs)),
            "--datasets",
            "cards",
            "--format",
            "jsonl",
            "--database",
            mongo.name,
            "--prefix",
            prefix,
            "--lake",
            "s3",
        ],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "DLT_DATA_DIR": str(tmp_path / "dlt"), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cards" in proc.stdout and "25" in proc.stdout
    settings = settings_from_outputs(outputs, database=mongo.name, prefix=prefix)
    keys = table_keys(s3_client(outputs), settings.target, settings.dataset_name, "cards")
    assert keys and all(".jsonl" in k for k in keys)
    assert lake(outputs, settings, "cards") == [card(i) for i in range(25)]
    delete_prefix(s3_client(outputs), settings.target.bucket, prefix + "/")


def test_a_page_goes_to_dlt_as_arrow_only_when_it_fits_the_declared_columns() -> None:
    """The fast path must never decide what the contract decides: a page with anything off goes as rows."""
    import pyarrow as pa

    from pipelines.batch.mongodb.arrow import arrow_page
    from schemas import load as load_schema

    schema = load_schema("transactions")
    page = [transaction(i) for i in range(20)]
    table = arrow_page(page, schema)
    assert table is not None and table.to_pylist() == page
    assert table.schema.field("amount").type == pa.float64() and table.schema.field("id").type == pa.int64()
    assert not table.schema.field("id").nullable and table.schema.field("errors").nullable
    off: list[dict[str, Any]] = [
        {"channel": "app"},  # a field the schema does not know
        {"amount": "$12.00"},  # a string where a number is
        {"id": 1.5},  # a float where an integer is (pyarrow would truncate it)
        {"client_id": True},  # a bool where an integer is (pyarrow would refuse, dlt may coerce)
        {"id": None},  # a null where one is required
    ]
    for change in off:
        assert arrow_page([*page[:5], {**page[5], **change}], schema) is None, change


def test_documents_are_read_ahead_in_pages_without_the_mongo_id(outputs: dict[str, Any], mongo: Any) -> None:
    from pymongo.errors import OperationFailure

    from pipelines.batch.mongodb.helpers import document_pages

    insert(mongo, outputs, "transactions", [transaction(i) for i in range(30)])
    collection = mongo[outputs["mongodb_collections"]["transactions"]]

    pages = list(document_pages(collection, [{}], page_size=7))
    assert [len(p) for p in pages] == [7, 7, 7, 7, 2]
    assert sorted((doc for page in pages for doc in page), key=lambda d: d["id"]) == [transaction(i) for i in range(30)]
    above = list(document_pages(collection, [{"id": {"$gte": transaction(25)["id"]}}], page_size=7))
    assert [doc["id"] for page in above for doc in page] == [transaction(i)["id"] for i in range(25, 30)]

    reading = document_pages(collection, [{}], page_size=7)
    assert len(next(reading)) == 7
    reading.close()  # stops reading ahead (waits for the page in flight) and closes the cursor
    with pytest.raises(OperationFailure, match="bogus"):  # a server error in the reading thread reaches the caller
        list(document_pages(collection, [{"id": {"$bogus": 1}}], page_size=7))


def test_parallel_readers_split_the_documents_by_cursor_without_gaps_or_doubles(
    outputs: dict[str, Any], mongo: Any
) -> None:
    from pymongo.errors import OperationFailure

    from pipelines.batch.mongodb.helpers import cursor_queries, document_pages

    insert(mongo, outputs, "transactions", [transaction(i) for i in range(100)])
    collection = mongo[outputs["mongodb_collections"]["transactions"]]
    ids = [transaction(i)["id"] for i in range(100)]

    queries = cursor_queries("id", None, 3)
    assert queries == [{"id": {"$mod": [3, r]}} for r in range(3)]
    pages = list(document_pages(collection, queries, page_size=7))
    assert sorted(doc["id"] for page in pages for doc in page) == ids
    assert max(len(p) for p in pages) == 7 and len(pages) >= 15  # each reader pages its own third
    since = cursor_queries("id", ids[60], 3)
    assert sorted(doc["id"] for page in document_pages(collection, since, page_size=7) for doc in page) == ids[60:]
    # a last value `$mod` cannot split (a float, a negative number): one query, as with one reader
    assert cursor_queries("id", 2.5, 3) == [{"id": {"$gte": 2.5}}]
    assert cursor_queries("id", -4, 3) == [{"id": {"$gte": -4}}]
    assert cursor_queries("id", 7, 1) == [{"id": {"$gte": 7}}]

    reading = document_pages(collection, queries, page_size=7)
    assert len(next(reading)) == 7
    reading.close()  # stops every reader
    with pytest.raises(OperationFailure, match="bogus"):
        list(document_pages(collection, [*queries, {"id": {"$bogus": 1}}], page_size=7))


def test_a_first_load_with_several_readers_also_reads_what_no_reader_matches(
    outputs: dict[str, Any], mongo: Any, settings: BatchSettings, tmp_path: Path
) -> None:
    """-3 % 2 is -1: neither `$mod: [2, 0]` nor `[2, 1]` matches it; the rows read fall short of the count, so
    the complement of the readers' queries is read too."""
    odd = {**transaction(10), "id": -3}
    insert(mongo, outputs, "transactions", [*(transaction(i) for i in range(10)), odd])

    first = run_dataset(settings, "transactions", pipelines_dir=tmp_path, readers=2)

    assert first.rows == 11
    assert lake(outputs, settings, "transactions") == [odd, *(transaction(i) for i in range(10))]
    insert(mongo, outputs, "transactions", [transaction(i) for i in range(11, 16)])
    assert run_dataset(settings, "transactions", pipelines_dir=tmp_path, readers=2).rows == 5
    assert len(lake(outputs, settings, "transactions")) == 16
