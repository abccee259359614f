"""The column-at-a-time canonical texts (pipelines/reconcile/columnar.py) are canonical()'s, value for value:
from Python lists as the dict stores hand them, and from Arrow arrays as parquet, the MongoDB pages and Arrow's
JSON reader hold them. No service needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.reconcile.canonical import canonical
from pipelines.reconcile.columnar import canonical_array, canonical_values
from schemas import load as load_schema

TRANSACTIONS = load_schema("transactions")
CARDS = load_schema("cards")
AMOUNT, ID, DATE, CITY = (TRANSACTIONS.field(n) for n in ("amount", "id", "date", "merchant_city"))
CHIP = CARDS.field("has_chip")

floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([-0.0, 1e16, 1e-7, 5e-324, 0.1 + 0.2])
ints = st.integers() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None) | st.sampled_from([Decimal("1.50")])
number_texts = st.from_regex(r"-?[0-9]{1,5}(\.[0-9]{0,4})?(E[+-]?[0-9])?", fullmatch=True) | st.text(max_size=5)
zones = st.sampled_from([None, UTC, timezone(timedelta(hours=-5)), timezone(timedelta(minutes=9, seconds=21))])
instants = st.builds(
    lambda d, z: d.replace(tzinfo=z), st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), zones
)
odd_texts = ["2010-01-01T00:40:25", "2010-13-45T00:00:00", "garbage", "2010-01-01 00:40:25"]
instant_texts = instants.map(lambda d: d.isoformat()) | st.sampled_from(odd_texts)
anything = ints | floats | decimals | st.text(max_size=4) | st.booleans() | instants


def expected(field: Any, values: list[Any]) -> list[str]:
    return [canonical(field, v) for v in values]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), floats), max_size=30) | st.lists(st.one_of(st.none(), ints), max_size=30)
       | st.lists(st.one_of(st.none(), decimals), max_size=30) | st.lists(number_texts, max_size=30)
       | st.lists(anything, max_size=12))  # fmt: skip
def test_a_number_column_has_canonical_s_texts(values: list[Any]) -> None:
    for field in (AMOUNT, ID):
        assert canonical_values(field, values).to_pylist() == expected(field, values)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), instants), max_size=30) | st.lists(instant_texts, max_size=30))
def test_a_datetime_column_has_canonical_s_texts(values: list[Any]) -> None:
    assert canonical_values(DATE, values).to_pylist() == expected(DATE, values)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=6)), max_size=30) | st.lists(anything, max_size=12))
def test_text_and_boolean_columns_have_canonical_s_texts(values: list[Any]) -> None:
    assert canonical_values(CITY, values).to_pylist() == expected(CITY, values)
    assert canonical_values(CHIP, values).to_pylist() == expected(CHIP, values)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))),
             max_size=30),
    st.sampled_from(["s", "ms", "us", "ns"]),
    st.sampled_from([None, "UTC", "Europe/Paris", "America/New_York"]),
)  # fmt: skip
def test_timestamps_of_any_unit_and_zone_as_arrow_holds_them(values: list[Any], unit: str, zone: str | None) -> None:
    """As parquet holds dlt's `date`: the Arrow array's values are UTC whatever its zone."""
    try:
        array = pa.array(values, pa.timestamp("us")).cast(pa.timestamp(unit), safe=False).view(pa.timestamp(unit, zone))
    except pa.ArrowInvalid:  # out of the nanosecond range
        return
    assert canonical_array(DATE, array).to_pylist() == expected(DATE, array.to_pylist())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), floats), max_size=30), st.sampled_from([pa.float32(), pa.float64()]))
def test_float_arrays_as_arrow_holds_them(values: list[Any], kind: pa.DataType) -> None:
    array = pa.array(values, pa.float64()).cast(kind, safe=False)
    assert canonical_array(AMOUNT, array).to_pylist() == expected(AMOUNT, array.to_pylist())
