"""The loaders' one record check (loaders.validate): which field and why, for each way a record can be wrong."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest

import schemas
from loaders.validate import RecordValidator, Violation

CARD: dict[str, Any] = {"id": 4524, "client_id": 825, "card_brand": "Visa", "card_type": "Debit",
                        "card_number": 4344676511950444, "expires": "2022-12", "cvv": 623, "has_chip": True,
                        "num_cards_issued": 2, "credit_limit": 24295.0, "acct_open_date": "2002-09",
                        "year_pin_last_changed": 2008, "card_on_dark_web": False}  # fmt: skip


@pytest.fixture
def cards() -> RecordValidator:
    return RecordValidator(schemas.load("cards"))


def test_a_record_of_the_schema_passes_and_has_its_key(cards: RecordValidator) -> None:
    assert cards.check(CARD) is None
    assert cards.key_of(CARD) == "4524"


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"credit_limit": "abc"}, "credit_limit", "'abc' is not of type 'number'"),
        ({"has_chip": "YES"}, "has_chip", "is not of type 'boolean'"),
        ({"unexpected": 1}, "unexpected", "'unexpected' was unexpected"),
        ({"id": None}, "id", "None is not of type 'integer'"),
    ],
)
def test_a_violation_names_the_field_and_the_reason(
    cards: RecordValidator, change: dict[str, Any], field: str, reason: str
) -> None:
    violation = cards.check({**CARD, **change})
    assert violation is not None and violation.field == field and reason in violation.reason
    assert str(violation).startswith(f"field {field!r}: ")


def test_a_missing_required_or_key_field_is_named(cards: RecordValidator) -> None:
    for name in ("card_brand", "id"):
        record = {k: v for k, v in CARD.items() if k != name}
        assert cards.check(record) == Violation(name, f"'{name}' is a required property")
    assert cards.key_of({k: v for k, v in CARD.items() if k != "id"}) is None


def test_the_key_is_needed_even_where_the_schema_does_not_require_it() -> None:
    raw = copy.deepcopy(schemas.load("cards").raw)
    raw["required"] = [name for name in raw["required"] if name != "id"]
    raw["properties"]["id"]["type"] = ["integer", "null"]
    lax = RecordValidator(dataclasses.replace(schemas.load("cards"), raw=raw))
    assert lax.check({**CARD, "id": None}) == Violation("id", "key field 'id' missing or null")
    assert lax.check({k: v for k, v in CARD.items() if k != "id"}) == Violation("id", "key field 'id' missing or null")


@pytest.mark.parametrize("record", [[1, 2], "text", 7, None])
def test_a_record_that_is_not_an_object_is_refused(cards: RecordValidator, record: Any) -> None:
    violation = cards.check(record)
    assert violation is not None and violation.field is None and "not a JSON object" in violation.reason


@pytest.mark.parametrize(
    "line",
    [
        b'{"id": 1, "amount": 2.5, "city": "K\\u00f6ln"}\n',
        b'{"x": NaN}\n',
        b'{"big": 123456789012345678901234567890}\n',
        b'{"n": [{"big": -9223372036854775809}], "f": 1e300}',
        b'{"inf": 1E400}',
        b'{"s": "\\ud800"}',
        '{"city": "Köln"}\n'.encode(),
        b'{"city": "K\xf6ln"}\n',
    ],
)
def test_a_source_line_reads_as_the_standard_library_reads_it(line: bytes) -> None:
    """msgspec first for speed, but what is accepted (NaN, huge ints, bytes not UTF-8) stays the stdlib's."""
    import json
    import math

    from loaders.load import parse_line

    expected = json.loads(line.decode("utf-8", errors="replace"))
    got = parse_line(line)
    if "x" in expected:
        assert math.isnan(got["x"])
    else:
        assert got == expected and json.dumps(got) == json.dumps(expected)  # ints stay ints


@pytest.mark.parametrize("line", [b'{"id": 1,}\n', b"not json\n", b'{"id": 1'])
def test_a_broken_line_fails_with_the_standard_librarys_message(line: bytes) -> None:
    import json

    from loaders.load import parse_line

    with pytest.raises(json.JSONDecodeError) as stdlib:
        json.loads(line.decode())
    with pytest.raises(json.JSONDecodeError) as ours:
        parse_line(line)
    assert (ours.value.msg, ours.value.colno) == (stdlib.value.msg, stdlib.value.colno)


#: values of every JSON kind, the edge ones included: each replaces each field of a valid record in turn
ODD_VALUES: list[Any] = [None, True, False, 0, -1, 1.0, 2.5, -0.5, 10**30, "", "x", [], {}, [1], {"a": 1}]


def _lines_around(record: dict[str, Any]) -> list[bytes]:
    lines = [json.dumps(record).encode()]
    for name in record:
        lines += [json.dumps({**record, name: value}).encode() for value in ODD_VALUES]
        lines.append(json.dumps({k: v for k, v in record.items() if k != name}).encode())
    lines.append(json.dumps({**record, "extra": 1}).encode())
    lines.append(json.dumps(record)[:-1].encode() + b', "id": -5}')  # a key twice: the last one counts
    return lines


TRANSACTION: dict[str, Any] = {"id": 7475327, "date": "2010-01-01T02:14:36", "client_id": 241, "card_id": 373,
                               "amount": 12.88, "use_chip": "Swipe Transaction", "merchant_id": 58585,
                               "merchant_city": "Miami", "merchant_state": "FL", "zip": "33101", "mcc": 5661,
                               "errors": None}  # fmt: skip


@pytest.mark.parametrize(("dataset", "record"), [("cards", CARD), ("transactions", TRANSACTION)])
def test_the_fast_path_accepts_only_what_the_full_check_accepts(dataset: str, record: dict[str, Any]) -> None:
    from loaders.load import parse_line

    validator = RecordValidator(schemas.load(dataset))
    assert validator.accepted(json.dumps(record).encode()) == record  # the fast path is taken at all
    for line in _lines_around(record):
        accepted = validator.accepted(line)
        if accepted is not None:
            assert validator.check(parse_line(line)) is None, line
            assert accepted == parse_line(line), line


def test_a_schema_with_a_keyword_not_translated_takes_the_full_check_only() -> None:
    raw = copy.deepcopy(schemas.load("cards").raw)
    raw["properties"]["card_brand"]["enum"] = ["Visa", "Amex"]
    strict = RecordValidator(dataclasses.replace(schemas.load("cards"), raw=raw))
    assert strict.accepted(json.dumps(CARD).encode()) is None
    assert strict.check({**CARD, "card_brand": "Mastercard"}) is not None
