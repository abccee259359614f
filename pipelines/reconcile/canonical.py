"""One canonical text per typed value, so a value hashes the same whichever store returns it.

Numbers: int, float, Decimal (DynamoDB), bson Decimal128/Int64 and numpy scalars become the shortest exact
decimal (`77`, `77.5`, `-0.01`; never an exponent, `-0` is `0`). Datetimes: a `datetime` (Mongo, Firestore's
DatetimeWithNanoseconds, parquet timestamps) or an ISO 8601 string becomes UTC `YYYY-MM-DDTHH:MM:SS[.ffffff]`;
a value without a zone is UTC (the converter writes UTC). Booleans `true`/`false`; null and an absent field
are the same marker. Everything else is its text.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from schemas import DatasetSchema, Field

#: the canonical text of null (and of a field the store does not have): no real value encodes to it
NULL = "\x00"


def canonical(field: Field, value: Any) -> str:
    if value is None:
        return NULL
    if field.json_type in ("integer", "number"):
        return _number(value)
    if field.json_type == "boolean":
        return _boolean(value)
    if field.parse == "datetime":
        return _instant(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def canonical_row(schema: DatasetSchema, record: dict[str, Any]) -> list[str]:
    """The record's canonical values in the schema's field order (fields the store lacks are null)."""
    return [canonical(f, record.get(f.name)) for f in schema.fields]


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if hasattr(value, "to_decimal"):  # bson Decimal128
        value = value.to_decimal()
    elif hasattr(value, "item") and not isinstance(value, Decimal):  # numpy scalars
        value = value.item()
    try:
        # str() of a float is its shortest round-trip repr: 0.1 stays 0.1, not 0.1000000000000000055...
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return f"not-a-number:{value}"
    if not number.is_finite():
        return str(number)
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _boolean(value: Any) -> str:
    if isinstance(value, str):
        return value.strip().lower()
    return "true" if bool(value) else "false"


def _instant(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        return str(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds").removesuffix(".000000")
