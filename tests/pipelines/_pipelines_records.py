"""Schema-valid records for the pipeline tests (varied values, nulls where the schema allows them)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

CHIP = ("Swipe Transaction", "Chip Transaction", "Online Transaction")
ERRORS = (None, None, None, "Insufficient Balance", "Bad PIN,Technical Glitch")


def transaction(i: int) -> dict[str, Any]:
    return {
        "id": 7_475_327 + i,
        "date": f"2010-01-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00",
        "client_id": 1_000 + i % 97,
        "card_id": 4_000 + i % 211,
        "amount": round((i % 1_000) * 1.37 - 77.0, 2),
        "use_chip": CHIP[i % 3],
        "merchant_id": 50_000 + i % 503,
        "merchant_city": "ONLINE" if i % 3 == 2 else f"City {i % 17}",
        "merchant_state": None if i % 3 == 2 else "CA",
        "zip": None if i % 3 == 2 else f"{90_000 + i % 999:05d}",
        "mcc": (5812, 5411, 4829)[i % 3],
        "errors": ERRORS[i % len(ERRORS)],
    }


def card(i: int, credit_limit: float | None = None) -> dict[str, Any]:
    return {
        "id": i,
        "client_id": 825 + i % 50,
        "card_brand": ("Visa", "Mastercard", "Amex", "Discover")[i % 4],
        "card_type": ("Credit", "Debit", "Debit (Prepaid)")[i % 3],
        "card_number": 4_344_676_511_950_444 + i,
        "expires": f"20{20 + i % 10}-{1 + i % 12:02d}",
        "cvv": 100 + i % 900,
        "has_chip": i % 5 != 0,
        "num_cards_issued": 1 + i % 3,
        "credit_limit": credit_limit if credit_limit is not None else float(1_000 + i * 10),
        "acct_open_date": f"{2000 + i % 20}-{1 + i % 12:02d}",
        "year_pin_last_changed": 2008 + i % 10,
        "card_on_dark_web": False,
    }


def with_mongo_id(record: dict[str, Any]) -> dict[str, Any]:
    """How the loaders store a record in MongoDB: `_id` = the dataset key as a string."""
    return {"_id": str(record["id"]), **record}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def delete_prefix(s3: Any, bucket: str, prefix: str) -> None:
    """Remove what a test wrote under its own prefix (the emulator keeps everything in memory)."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})


@contextlib.contextmanager
def fresh_mongo_database(outputs: dict[str, Any], label: str) -> Iterator[Any]:
    """A database of its own in the stack's MongoDB (FerretDB), dropped afterwards."""
    import pymongo

    client: Any = pymongo.MongoClient(outputs["mongodb_uri"], serverSelectionTimeoutMS=10_000)
    db = client[unique(label)]
    try:
        yield db
    finally:
        client.drop_database(db.name)
        client.close()
