"""The load's compiled check of JSON lines (loaders/kernel/src/lines.rs) against the schema's msgspec struct
(loaders.validate.RecordValidator.accepted_key): every line the kernel accepts, the struct accepts too, with the
same id; the kernel defers the others, untouched and with their line numbers, to the full check. On lines as
the converter writes them it accepts every one (else the Kafka load would crawl along the Python path)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loaders.convert import convert_dir
from loaders.generate import generate_dataset
from loaders.validate import RecordValidator
from schemas import DATASETS
from schemas import load as load_schema

#: JSON texts of values a field could hold, right and wrong for its type, at and past the edges
TRICKY_VALUES = [
    "0", "-0", "7", "-7", "007", "1.0", "1.5", "-0.0", "1e3", "1E-3", "1.", ".5", "+1", "-", "9223372036854775807",
    "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "9007199254740993", "1" + "0" * 30,
    "1e400", "-1e400", "NaN", "Infinity", "true", "false", "null", "nul", "tru", '""', '"x"', '"Zürich ☃"',
    '"tab\\there"', '"q\\"uote"', '"\\u00e9"', '"\\ud800"', '"back\\\\slash"', '"\\x"', '"ctl\x01"', '"12"',
    "[]", "[1]", "{}", '{"a": 1}',
]  # fmt: skip


_SAMPLE_CACHE: dict[str, list[dict[str, Any]]] = {}


def _samples() -> dict[str, list[dict[str, Any]]]:
    if not _SAMPLE_CACHE:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            raw, out = Path(tmp) / "raw", Path(tmp) / "json"
            generate_dataset(raw, 300, seed=9)
            convert_dir(raw, out)
            for dataset in DATASETS:
                path = out / f"{dataset}.jsonl"
                _SAMPLE_CACHE[dataset] = [json.loads(line) for line in path.read_text().splitlines()[:50]]
    return _SAMPLE_CACHE


def _python_verdict(validator: RecordValidator, line: bytes) -> bytes | None:
    key = validator.accepted_key(line)
    return None if key is None else key.encode()


def _kernel_verdict(validator: RecordValidator, line: bytes) -> bytes | None:
    ids, bodies, left, lines = validator.accepted_block(line + b"\n", 1, 10)
    assert lines == 1
    if ids:
        assert bodies == [line.lstrip(b" \t\r")] and not left  # from its `{`: a sink may splice in after it
        assert bodies[0].startswith(b"{")
        return ids[0]
    assert left == [(1, 0, line + b"\n")] or not line.strip()
    return None


@st.composite
def mutated_line(draw: st.DrawFn, dataset: str) -> bytes:
    """A record of the dataset as JSON, maybe with a field's value swapped for a tricky one, a field dropped,
    doubled or added, whitespace around the punctuation, the fields shuffled, or a byte that is not UTF-8."""
    record = dict(draw(st.sampled_from(_samples()[dataset])))
    fields = list(record)
    texts = {name: json.dumps(value, ensure_ascii=draw(st.booleans())) for name, value in record.items()}
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
        name = draw(st.sampled_from(fields))
        texts[name] = draw(st.sampled_from(TRICKY_VALUES))
    if draw(st.integers(0, 3)) == 0 and len(fields) > 1:
        texts.pop(draw(st.sampled_from(fields)))
    pairs = [(json.dumps(name), text) for name, text in texts.items()]
    if draw(st.integers(0, 4)) == 0:
        pairs.append(
            (
                json.dumps(draw(st.sampled_from([*fields, *(f"{f}x" for f in fields), "extra", "é"]))),
                draw(st.sampled_from(TRICKY_VALUES)),
            )
        )
    if draw(st.booleans()):
        pairs = draw(st.permutations(pairs))
    space = draw(st.sampled_from(["", " ", "\t", "  "]))
    line = "{" + space + ("," + space).join(f"{k}{space}:{space}{v}" for k, v in pairs) + space + "}"
    data = line.encode()
    if draw(st.integers(0, 9)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b" ", b"}"])) + data[at:]
    return data


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_kernel_is_built_and_accepts_what_the_converter_writes(dataset: str) -> None:
    validator = RecordValidator(load_schema(dataset))
    assert validator._lines is not None, "the kernel's LineChecker is not built (make setup builds it)"
    lines = [json.dumps(r, separators=(",", ":")).encode() for r in _samples()[dataset]]
    ids, bodies, left, count = validator.accepted_block(b"\n".join(lines) + b"\n", 1, 10**6)
    assert (len(ids), left, count) == (len(lines), [], len(lines))
    assert ids == [_python_verdict(validator, line) for line in lines] and bodies == lines


@pytest.mark.parametrize("dataset", DATASETS)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_what_the_kernel_accepts_the_struct_accepts_with_the_same_id(dataset: str, data: st.DataObject) -> None:
    validator = RecordValidator(load_schema(dataset))
    line = data.draw(mutated_line(dataset))
    kernel = _kernel_verdict(validator, line)
    if kernel is not None:
        assert _python_verdict(validator, line) == kernel, line


@pytest.mark.parametrize("dataset", DATASETS)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_line_gets_the_same_verdict_in_a_block_as_alone(dataset: str, data: st.DataObject) -> None:
    """What stands before a line in its block (the field order the kernel learns from the lines before it, a
    broken byte on another line, which makes it check UTF-8 line by line) changes neither its verdict nor its id."""
    validator = RecordValidator(load_schema(dataset))
    lines = data.draw(st.lists(mutated_line(dataset), min_size=2, max_size=8))
    record = json.dumps(data.draw(st.sampled_from(_samples()[dataset])), separators=(",", ":")).encode()
    at = record.index(b':"') + 2 if b':"' in record else record.index(b":") + 1  # in a string, if it has one
    broken = record[:at] + b"\xff" + record[at:]  # fine but for that one byte
    lines.insert(data.draw(st.integers(0, len(lines))), broken)
    ids, _bodies, left, count = validator.accepted_block(b"\n".join(lines) + b"\n", 1, len(lines))
    alone = [_kernel_verdict(validator, line) for line in lines]
    assert count == len(lines)
    assert ids == [verdict for verdict in alone if verdict is not None]
    left_alone = [n for n, (line, verdict) in enumerate(zip(lines, alone, strict=True), 1) if verdict is None]
    assert [number for number, _before, _line in left] == [n for n in left_alone if lines[n - 1].strip()]


def test_lines_left_to_the_full_check_keep_their_numbers_and_places() -> None:
    validator = RecordValidator(load_schema("transactions"))
    good = [
        json.dumps({**r, "id": n}, separators=(",", ":")).encode() for n, r in enumerate(_samples()["transactions"][:4])
    ]
    escaped = good[1].replace(b'"date"', b'"d\\u0061te"')  # the struct reads it; the kernel leaves it
    block = b"\n".join([good[0], escaped, b"   ", b"not json", good[2], good[3] + b"\r"]) + b"\n"

    ids, bodies, left, lines = validator.accepted_block(block, 40, 10)

    assert ids == [b"0", b"2", b"3"] and bodies == [good[0], good[2], good[3]] and lines == 6
    assert left == [(41, 1, escaped + b"\n"), (43, 1, b"not json\n")]
    assert validator.accepted_key(escaped) == "1"
    assert validator.accepted_block(block, 40, 2)[:2] == ([b"0"], [good[0]])  # the limit counts lines
    framed = validator.accepted_block(block, 40, 10, b"\x00\x00\x00\x00\x07")[1]
    assert framed == [b"\x00\x00\x00\x00\x07" + body for body in bodies]  # what the sink puts before each


def test_the_python_path_splits_and_numbers_a_block_as_the_kernel_does() -> None:
    """Without the kernel (not built), `accepted_block` falls back to Python: the same ids, framed values, left
    lines with their numbers, and line count, a lone carriage return and a last line without a break included."""
    validator = RecordValidator(load_schema("transactions"))
    good = [
        json.dumps({**r, "id": n}, separators=(",", ":")).encode() for n, r in enumerate(_samples()["transactions"][:5])
    ]
    block = b"\n".join([*good[:3], b"  ", b"bad\rline", good[3]]) + b"\n" + good[4]
    kernel = validator.accepted_block(block, 7, 100, b"F")
    validator._lines = None
    assert validator.accepted_block(block, 7, 100, b"F") == kernel
    assert kernel[2] == [(11, 3, b"bad\rline\n")] and kernel[3] == 7


@pytest.mark.parametrize("dataset", DATASETS)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_documents_the_kernel_writes_are_the_bson_pymongo_encodes_from_the_line(
    dataset: str, data: st.DataObject
) -> None:
    """MongoDB's path (`accepted_documents`): the same lines accepted and left as `accepted_block`'s, each
    accepted one as the very bytes pymongo encodes for the line parsed by orjson with its id first (int32 or
    int64 by size, doubles, escapes undone, key order kept)."""
    import bson
    import orjson

    validator = RecordValidator(load_schema(dataset))
    assert validator.encodes_documents("_id")
    block = data.draw(mutated_line(dataset)) + b"\n"
    ids, docs, left, lines = validator.accepted_documents(block, 1, 10, "_id")
    json_ids, bodies, json_left, json_lines = validator.accepted_block(block, 1, 10)
    assert (ids, left, lines) == (json_ids, json_left, json_lines)
    assert docs == [bson.encode({"_id": i.decode(), **orjson.loads(b)}) for i, b in zip(ids, bodies, strict=True)]


def test_documents_are_written_for_a_whole_block_and_not_under_a_property_s_name() -> None:
    validator = RecordValidator(load_schema("transactions"))
    good = [json.dumps({**r, "id": n}).encode() for n, r in enumerate(_samples()["transactions"][:3])]
    block = b"\n".join([good[0], b"not json", good[1], good[2]]) + b"\n"
    ids, docs, left, lines = validator.accepted_documents(block, 5, 10, "_id")
    assert (ids, left, lines) == ([b"0", b"1", b"2"], [(6, 1, b"not json\n")], 4)
    import bson

    assert [bson.decode(d) for d in docs] == [{"_id": str(n), **json.loads(g)} for n, g in enumerate(good)]
    assert not validator.encodes_documents("amount")  # a property's name: the JSON path then
    with pytest.raises(ValueError, match="amount"):
        validator.accepted_documents(block, 5, 10, "amount")
