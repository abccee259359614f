"""canonical.py's texts for a whole column at once: Arrow's compute kernels write the values whose text is
certain (an integer column's digits, a float's shortest round-trip digits that need no exponent, a timestamp
on a whole second, a string already in canonical form), and canonical() itself writes the rest, value by value.
So a column costs one vectorised pass plus Python only for the odd values, and every value still gets exactly
canonical()'s text (tests/pipelines/test_reconcile_columnar.py holds the two equal)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.reconcile.canonical import NULL, canonical
from schemas import DatasetSchema, Field

#: a number's canonical text: no exponent, no sign on zero, no trailing zeros after the point
_DECIMAL = r"^(0|-?[1-9][0-9]*)(\.[0-9]*[1-9])?$|^-0\.[0-9]*[1-9]$"
#: an instant's canonical text on a whole second (a naive one is UTC, as canonical() reads it)
_INSTANT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$"
#: the Python types a list of one of them may become an Arrow array without changing a value
_PLAIN = {int: pa.int64(), float: pa.float64(), str: pa.string()}


def canonical_columns(schema: DatasetSchema, batch: pa.RecordBatch | pa.Table) -> list[pa.Array]:
    """The canonical text of every field of `batch` in the schema's order (a missing column is null)."""
    names = set(batch.schema.names)
    return [
        canonical_array(f, _combined(batch.column(f.name)) if f.name in names else pa.nulls(batch.num_rows))
        for f in schema.fields
    ]


def canonical_values(field: Field, values: Sequence[Any]) -> pa.Array:
    """The canonical text of a list of Python values (one field of a batch of records)."""
    types = set(map(type, values)) - {type(None)}
    if not types:
        return pa.array([NULL] * len(values), pa.string())
    if len(types) == 1 and (kind := _PLAIN.get(next(iter(types)))) is not None:
        try:
            return canonical_array(field, pa.array(values, kind))
        except (pa.ArrowException, OverflowError):
            pass  # an int past 64 bits: canonical() below
    return pa.array([canonical(field, v) for v in values], pa.string())


def canonical_array(field: Field, array: pa.Array) -> pa.Array:
    kind = array.type
    if pa.types.is_null(kind):
        return pa.array([NULL] * len(array), pa.string())
    if field.json_type in ("integer", "number") and pa.types.is_integer(kind):
        return pc.fill_null(pc.cast(array, pa.string()), NULL)  # an integer's digits are its canonical text
    if field.json_type in ("integer", "number") and pa.types.is_floating(kind):
        # as float64, whose shortest digits are Python's: a float32's own shortest digits are another number's
        return _checked(field, array, pc.cast(array.cast(pa.float64()), pa.string()), _DECIMAL)
    if field.json_type in ("integer", "number") and pa.types.is_string(kind):
        return _checked(field, array, array, _DECIMAL)
    if field.parse == "datetime" and pa.types.is_timestamp(kind) and kind.unit in ("s", "ms", "us"):
        return _timestamps(field, array)
    if field.parse == "datetime" and pa.types.is_string(kind):
        return _checked(field, array, array, _INSTANT)
    texts = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    if texts and field.json_type not in ("integer", "number", "boolean") and field.parse != "datetime":
        return pc.fill_null(array.cast(pa.string()), NULL)
    return _python(field, array, pa.array([True] * len(array), pa.bool_()), pa.nulls(len(array), pa.string()))


def _checked(field: Field, array: pa.Array, texts: pa.Array, pattern: str) -> pa.Array:
    """`texts` where they match `pattern` (already canonical), canonical() of the value elsewhere."""
    odd = pc.invert(pc.fill_null(pc.match_substring_regex(texts, pattern), True))
    odd = pc.and_(odd, pc.is_valid(array))
    return _python(field, array, odd, pc.fill_null(texts, NULL))


def _timestamps(field: Field, array: pa.Array) -> pa.Array:
    """Arrow's text of the whole second (its values are UTC whatever the zone: viewed without one), with a "T";
    a fraction of a second, or a year Arrow writes in other than four digits, is canonical()'s to write."""
    naive = array.view(pa.timestamp(array.type.unit))
    seconds = naive if array.type.unit == "s" else pc.floor_temporal(naive, unit="second")
    texts = pc.replace_substring(seconds.cast(pa.timestamp("s")).cast(pa.string()), " ", "T", max_replacements=1)
    odd = pc.or_(pc.not_equal(naive, seconds), pc.not_equal(pc.utf8_length(texts), len("2000-01-01T00:00:00")))
    return _python(field, array, pc.fill_null(odd, False), pc.fill_null(texts, NULL))


def _python(field: Field, array: pa.Array, odd: pa.Array, texts: pa.Array) -> pa.Array:
    """`texts` with canonical() of the values where `odd` is true (null values are NULL whatever `odd` says)."""
    if not pc.any(odd).as_py():
        return pc.fill_null(texts, NULL)
    out = texts.to_pylist()
    for i in pc.indices_nonzero(odd).to_pylist():
        value = array[i].as_py()
        out[i] = canonical(field, _datetime(value))
    return pc.fill_null(pa.array(out, pa.string()), NULL)


def _datetime(value: Any) -> Any:
    """Arrow hands a nanosecond timestamp as pandas' Timestamp, which canonical() takes; everything else as is."""
    return value.to_pydatetime() if hasattr(value, "to_pydatetime") and not isinstance(value, datetime) else value


def _combined(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
