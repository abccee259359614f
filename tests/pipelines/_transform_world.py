"""A small finance world whose keys hold together (every transaction's client, card and MCC exist), landed in the
lake by the real batch pipeline under a prefix of its own, for the dbt project's tests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from _pipelines_records import card, transaction

from pipelines.batch.run import run_batch
from pipelines.batch.settings import BatchSettings
from schemas import DATASETS
from schemas import load as load_schema

CLIENTS, CARDS = range(1_000, 1_097), range(4_000, 4_211)  # as transaction(i) draws them
MCCS = {5812: "Eating Places and Restaurants", 5411: "Grocery Stores, Supermarkets", 4829: "Money Transfer"}


def user(client_id: int) -> dict[str, Any]:
    return {
        "id": client_id, "current_age": 30 + client_id % 40, "retirement_age": 67, "birth_year": 1990 - client_id % 40,
        "birth_month": 1 + client_id % 12, "gender": ("Female", "Male")[client_id % 2], "address": f"{client_id} Elm",
        "latitude": 34.05, "longitude": -118.25, "per_capita_income": 23_679.0, "yearly_income": 48_290.5,
        "total_debt": 1_200.75, "credit_score": 700 + client_id % 100, "num_credit_cards": 1 + client_id % 4,
    }  # fmt: skip


def world(transactions: int) -> dict[str, list[dict[str, Any]]]:
    tx = [transaction(i) for i in range(transactions)]
    return {
        "transactions": tx,
        "users": [user(c) for c in CLIENTS],
        "cards": [{**card(i), "client_id": CLIENTS[i % len(CLIENTS)], "card_on_dark_web": i % 7 == 0} for i in CARDS],
        "mcc_codes": [{"mcc": code, "description": text} for code, text in MCCS.items()],
        # two of three transactions labelled, one label in eleven a fraud
        "fraud_labels": [{"id": t["id"], "is_fraud": t["id"] % 11 == 0} for t in tx if t["id"] % 3],
    }


def land(mongo: Any, outputs: Mapping[str, Any], settings: BatchSettings, records: Mapping[str, list[Any]],
         pipelines_dir: Path) -> None:  # fmt: skip
    for dataset, rows in records.items():
        key = load_schema(dataset).key[0]  # the loaders' `_id`: the dataset key as text
        mongo[outputs["mongodb_collections"][dataset]].insert_many([{"_id": str(r[key]), **r} for r in rows])
    run_batch(settings, list(DATASETS), pipelines_dir=pipelines_dir, lakes=["s3"])


def duckdb_warehouse(outputs: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    """The outputs with a DuckDB warehouse of the test's own (devstack's shape, another file)."""
    warehouse = {"kind": "duckdb", "silver": "silver", "gold": "gold", "path": str(folder / "finance.duckdb"),
                 "project": None, "location": None, "airflow_connection": None}  # fmt: skip
    return {**outputs, "warehouse": warehouse}


def write_landing(records: Mapping[str, list[dict[str, Any]]], folder: Path) -> Path:
    """The records as dlt lays them out (`<table>/<load id>.<file id>.parquet`) in a local folder."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for table, rows in records.items():
        (folder / table).mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(list(rows)), folder / table / "1765100000.123456.a1b2c3.parquet")
    return folder
