"""The converter's compiled pass against its polars path: on CSV files made of tricky values (nulls pyarrow
knows, padding, unicode digits and spaces, leading zeros, signs, exponents, money with commas, impossible
dates, quoted fields with commas and doubled quotes, CRLF, ragged rows, bytes that are not UTF-8), both
engines write the same rows value for value and type for type, and quarantine the same rows with the same
file, line, field and reason. (Empty lines and quoted line breaks are left out: the compiled pass numbers the
file's own lines past them, the polars path rows; the last test pins the former.)"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loaders.convert import DatasetReport, convert_dataset, default_engine
from loaders.sources import NULL_VALUES
from schemas import load as load_schema

CSV_DATASETS = ("transactions", "cards", "users")

TRICKY = [
    "", " ", "  ", "NA", "null", "N/A", "nan", "NaN", "#N/A", "-nan", "NULL", "n/a",
    "0", "-0", "00", "007", "12", "-5", "+5", "1e5", "1.5", "-1.25", "1.", ".5", "0.1", "12.50",
    "\u0661\u0662", "\uff15", "999999999999999999", "9999999999999999999", "-999999999999999999", "1" + "0" * 30,
    "$1,234.50", "$-77.00", "$,5", "$", "$$5", "$12", "$ 12", "12$", "$1,2,3.4", "$-0.00",
    "12/2022", "1/2022", "13/2022", "0/2022", "00/2022", "12/22", "1/20222", "\uff11/2022",
    "2010-01-01 00:00:54", "2010-02-30 00:00:00", "2012-02-29 23:59:59", "2013-02-29 10:00:00",
    "2000-02-29 00:00:00", "1900-02-29 00:00:00", "2010-01-01 24:00:00", "2010-01-01 00:00:60",
    " 2010-01-01 00:00:54", "2010-01-01T00:00:54", "2010-1-01 00:00:54", "0999-01-01 00:00:00",
    "YES", "yes", "Y", "y", "true", "True", "No", "n", "FALSE", "MAYBE", "ye\u017f",
    "33101.0", "2801.0", "2801", "123456", "1234.5", "02801.0", "2801.00", "-123",
    "ONLINE", "São Paulo", "Zürich ", "\u00a0x", "x\u00a0", "tab\there", "back\\slash", "\x01ctl", "ünï",
    '"quoted, comma"', '"say ""hi"""', '""', '"NA"', '" padded "', '"12"', 'a"b',
]  # fmt: skip

value = st.one_of(
    st.sampled_from(TRICKY),
    st.text(st.characters(codec="utf-8", exclude_characters='",\r\n'), max_size=12),
    st.integers(-10, 10**6).map(str),
)


@st.composite
def csv_file(draw: Any, dataset: str) -> bytes:
    """A header in the file's own column order (an extra column too) and rows of drawn values; now and then a
    ragged row, bytes that are not UTF-8, a CRLF ending."""
    names = [*load_schema(dataset).field_names, "extra"]
    header = draw(st.permutations(names))
    lines = [",".join(header).encode()]
    for _ in range(draw(st.integers(1, 30))):
        fields = [draw(value) for _ in header]
        if draw(st.integers(0, 20)) == 0:
            fields = fields[: draw(st.integers(1, len(fields) - 1))]
        row = ",".join(fields).encode() or b"-"  # an empty line is no row, and the polars path does not count it
        if draw(st.integers(0, 20)) == 0:
            row = row.replace(b"a", b"\xff", 1) + b"\xfe"
        lines.append(row + (b"\r" if draw(st.integers(0, 10)) == 0 else b""))
    return b"\n".join(lines) + b"\n"


def _run(src: Path, out: Path, dataset: str, engine: str) -> tuple[DatasetReport, list[str], list[dict[str, Any]]]:
    report = convert_dataset(src, out, dataset, engine=engine)
    written = (out / f"{dataset}.jsonl").read_text(encoding="utf-8").splitlines()
    typed = sorted(json.dumps([[k, type(v).__name__, v] for k, v in json.loads(line).items()]) for line in written)
    rejected_file = out / "_rejected" / f"{dataset}.jsonl"
    rejected = [json.loads(line) for line in rejected_file.read_text().splitlines()] if rejected_file.exists() else []
    return report, typed, sorted(rejected, key=lambda r: r["line"])


@pytest.mark.parametrize("dataset", CSV_DATASETS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_both_engines_write_and_quarantine_the_same_rows(dataset: str, data: Any, tmp_path: Path) -> None:
    body = data.draw(csv_file(dataset))
    case = Path(tempfile.mkdtemp(dir=tmp_path))
    (case / "src").mkdir()
    (case / "src" / load_schema(dataset).source_file).write_bytes(body)
    kernel = _run(case / "src", case / "kernel", dataset, "kernel")
    polars = _run(case / "src", case / "polars", dataset, "polars")
    assert (kernel[0].read, kernel[0].written, kernel[0].rejected) == (
        polars[0].read,
        polars[0].written,
        polars[0].rejected,
    )
    assert kernel[1] == polars[1]
    for ours, theirs in zip(kernel[2], polars[2], strict=True):
        ours["file"] = theirs["file"] = "."
        assert ours == theirs


def test_setup_built_the_kernel_and_it_is_the_default() -> None:
    import kde_convert_kernel  # noqa: F401  (`make setup` builds loaders/kernel; without it this fails, not skips)

    assert default_engine() == "kernel"


def test_the_null_values_are_still_pyarrows_defaults() -> None:
    import pyarrow.csv as pacsv

    assert list(NULL_VALUES) == pacsv.ConvertOptions().null_values


def test_line_numbers_stay_exact_past_empty_lines_and_quoted_line_breaks(tmp_path: Path) -> None:
    """The compiled pass counts the file's own lines: an empty line and a quoted field over two lines move
    every later row's line number by one each."""
    header = "id,client_id,card_brand,card_type,card_number,expires,cvv,has_chip,num_cards_issued,credit_limit,"
    header += "acct_open_date,year_pin_last_changed,card_on_dark_web"
    good = "1,2,Visa,Credit,4000123412341234,12/2022,123,YES,1,$24295,09/2002,2010,No"
    rows = [good, "", good.replace("Visa", '"Visa\nGold"'), good.replace("YES", "MAYBE"), good]
    src = tmp_path / "src"
    src.mkdir()
    (src / "cards_data.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    report = convert_dataset(src, tmp_path / "out", "cards", engine="kernel")
    assert (report.read, report.written, report.rejected) == (4, 3, 1)
    rejected = json.loads((tmp_path / "out/_rejected/cards.jsonl").read_text())
    assert (rejected["line"], rejected["field"]) == (6, "has_chip")  # 1 header, 2 good, 3 empty, 4-5 quoted
    brands = [json.loads(line)["card_brand"] for line in (tmp_path / "out/cards.jsonl").read_text().splitlines()]
    assert sorted(brands) == ["Visa", "Visa", "Visa\nGold"]
