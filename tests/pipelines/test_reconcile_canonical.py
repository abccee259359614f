"""The canonical encoding: one text per typed value whichever store returns it (no service needed: the types
below are the ones each store's client library hands back)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from google.api_core.datetime_helpers import DatetimeWithNanoseconds

from pipelines.reconcile.canonical import NULL, canonical
from schemas import load as load_schema

TRANSACTIONS = load_schema("transactions")
CARDS = load_schema("cards")


@pytest.mark.parametrize(
    "value",
    [-77, -77.0, Decimal("-77.00"), Decimal128("-77.0"), Int64(-77), np.float64(-77.0), np.int64(-77), "-77"],
    ids=["int", "float", "dynamodb-decimal", "mongo-decimal128", "mongo-int64", "numpy-float", "numpy-int", "text"],
)
def test_a_number_is_one_text_whichever_store_types_it(value: object) -> None:
    assert canonical(TRANSACTIONS.field("amount"), value) == "-77"


def test_numbers_that_differ_by_a_cent_or_in_sign_do_not_collide() -> None:
    amount = TRANSACTIONS.field("amount")
    texts = {canonical(amount, v) for v in (12.34, 12.35, -12.34, Decimal("12.340"), 0.1 + 0.2, 0.3, -0.0, 0)}
    assert texts == {"12.34", "12.35", "-12.34", "0.30000000000000004", "0.3", "0"}


@pytest.mark.parametrize(
    "value",
    [
        "2010-01-01T00:01:00",
        "2010-01-01T00:01:00Z",
        "2010-01-01T02:01:00+02:00",
        datetime(2010, 1, 1, 0, 1),
        datetime(2009, 12, 31, 19, 1, tzinfo=timezone(timedelta(hours=-5))),
        DatetimeWithNanoseconds(2010, 1, 1, 0, 1, tzinfo=UTC),
    ],
    ids=["naive-text", "zulu", "paris-text", "mongo-naive", "aware", "firestore-timestamp"],
)
def test_an_instant_is_one_text_in_utc(value: object) -> None:
    assert canonical(TRANSACTIONS.field("date"), value) == "2010-01-01T00:01:00"


def test_the_same_wall_clock_in_another_zone_is_another_instant() -> None:
    date = TRANSACTIONS.field("date")
    assert canonical(date, "2010-01-01T00:01:00+02:00") != canonical(date, "2010-01-01T00:01:00")
    assert canonical(date, "2010-01-01T00:01:00.250000") == "2010-01-01T00:01:00.250000"


def test_booleans_nulls_and_texts() -> None:
    chip = CARDS.field("has_chip")
    assert [canonical(chip, v) for v in (True, False, np.bool_(True), "true")] == ["true", "false", "true", "true"]
    state = TRANSACTIONS.field("merchant_state")
    assert canonical(state, None) == NULL and canonical(state, "") == "" and canonical(state, "null") == "null"
    assert canonical(CARDS.field("expires"), "2002-09") == "2002-09"
    assert canonical(TRANSACTIONS.field("zip"), "02134") == "02134"  # a zip is text: its leading zero stays
