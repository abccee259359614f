"""The batch pipeline's compiled pass (loaders/kernel/src/columns.rs via pipelines.batch.mongodb.arrow.raw_arrow_page):
a page of BSON documents as the server sends it becomes the very table the Python path (decode, then
`arrow_page`) makes of it, or the pass declines and the Python path decides. Hypothesis mixes every BSON type
the pass takes or must refuse into every column; the generator's pages are taken whole."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import bson
import pytest
from bson import Int64, ObjectId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.batch.mongodb.arrow import arrow_page, raw_arrow_page
from pipelines.batch.mongodb.helpers import _page
from schemas import load as load_schema

SCHEMA = load_schema("transactions")
MISSING = object()

VALUES = st.one_of(
    st.none(),
    st.just(MISSING),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(-(2**63), 2**63 - 1).map(Int64),
    st.sampled_from([2**53, 2**53 + 1, -(2**53) - 1, 2**62]).map(Int64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "nul \x00 inside", "Zürich ☃", "ONLINE"]),
    st.booleans(),
    st.sampled_from([b"bytes", dt.datetime(2015, 1, 2, tzinfo=dt.UTC), {"nested": 1}, [1, 2], ObjectId()]),
)


def _python_path(raw: bytes) -> Any:
    documents = bson.decode_all(raw)
    return arrow_page(_page(iter(documents), len(documents)), SCHEMA)


def _columns(table: Any) -> dict[str, list[Any]]:
    """The table's values, NaN made comparable."""
    return {
        name: ["NaN" if isinstance(v, float) and math.isnan(v) else v for v in values]
        for name, values in table.to_pydict().items()
    }


def _typical(n: int) -> dict[str, Any]:
    return {
        "_id": str(n), "id": n, "date": f"2015-01-{1 + n % 28:02d}T10:00:00", "client_id": n % 7, "card_id": n % 11,
        "amount": n * 1.25 - 3, "use_chip": "Chip Transaction", "merchant_id": 10_000 + n, "merchant_city": "ONLINE",
        "merchant_state": None if n % 2 else "CA", "zip": None if n % 3 else "90210", "mcc": 5411,
        "errors": None if n % 5 else "Bad PIN",
    }  # fmt: skip


@st.composite
def page(draw: st.DrawFn) -> bytes:
    """A few documents shaped like transactions, some fields swapped for any value, dropped, or added."""
    documents = []
    for n in range(draw(st.integers(1, 4))):
        doc = _typical(n)
        for _ in range(draw(st.sampled_from([0, 1, 1, 2, 3]))):
            doc[draw(st.sampled_from(list(doc)))] = draw(VALUES)
        if draw(st.integers(0, 6)) == 0:
            doc[draw(st.sampled_from(["channel", "é"]))] = draw(VALUES)
        documents.append({k: v for k, v in doc.items() if v is not MISSING})
    return b"".join(bson.encode(d) for d in documents)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=page())
def test_a_page_the_pass_takes_is_the_table_the_python_path_makes(raw: bytes) -> None:
    table = raw_arrow_page(raw, SCHEMA)
    if table is None:
        return
    expected = _python_path(raw)
    assert expected is not None, "the pass took a page the Python path sends as rows"
    assert table.schema.equals(expected.schema)
    assert _columns(table) == _columns(expected)
    assert [c.null_count for c in table.columns] == [c.null_count for c in expected.columns]


def test_the_generator_s_pages_are_taken_whole_and_broken_bytes_declined() -> None:
    documents = [_typical(n) for n in range(500)]
    documents[7]["id"] = Int64(2**40)  # BSON int64: an Arrow page too (it was rows before)
    raw = b"".join(bson.encode(d) for d in documents)
    table = raw_arrow_page(raw, SCHEMA)
    assert table is not None and table.num_rows == 500
    assert _columns(table) == _columns(_python_path(raw))
    for broken in (raw[:-1], raw[:100], raw[:4] + b"\xff" + raw[5:], b"\x05\x00\x00\x00\x01"):
        assert raw_arrow_page(broken, SCHEMA) is None
    assert raw_arrow_page(b"", SCHEMA).num_rows == 0


@pytest.mark.parametrize(
    "change",
    [{"id": None}, {"id": 1.5}, {"client_id": True}, {"amount": Int64(2**53 + 1)}, {"channel": "app"}],
)
def test_a_page_with_anything_off_is_declined(change: dict[str, Any]) -> None:
    documents = [_typical(n) for n in range(5)]
    documents[3].update(change)
    assert raw_arrow_page(b"".join(bson.encode(d) for d in documents), SCHEMA) is None
