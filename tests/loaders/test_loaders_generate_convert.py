"""generate and convert, without services: determinism, formats, key relations, casts, and every bad input
ending in the quarantine (or a clear file-level error), with read = written + rejected."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from loaders.cli import main as cli
from loaders.convert import ConvertError, convert_dataset, convert_dir
from loaders.generate import FILES, generate_dataset
from schemas import DATASETS

CARDS_HEADER = (
    "id,client_id,card_brand,card_type,card_number,expires,cvv,has_chip,num_cards_issued,credit_limit,"
    "acct_open_date,year_pin_last_changed,card_on_dark_web"
)
GOOD_CARD = "1,2,Visa,Credit,4000123412341234,12/2022,123,YES,1,$24295,09/2002,2010,No"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("raw")
    generate_dataset(out, 5000, seed=7)
    return out


def test_generate_is_deterministic_for_a_seed(tmp_path: Path, generated: Path) -> None:
    again = generate_dataset(tmp_path / "again", 5000, seed=7)
    other = generate_dataset(tmp_path / "other", 5000, seed=8)
    for name in FILES:
        assert again[name].read_bytes() == (generated / name).read_bytes(), name
    assert other["transactions_data.csv"].read_bytes() != again["transactions_data.csv"].read_bytes()


def test_generated_files_have_the_kaggle_formats_and_relations(generated: Path) -> None:
    tx = pl.read_csv(generated / "transactions_data.csv", infer_schema=False)
    cards = pl.read_csv(generated / "cards_data.csv", infer_schema=False)
    users = pl.read_csv(generated / "users_data.csv", infer_schema=False)
    assert tx.height == 5000
    assert tx["amount"].str.contains(r"^\$-?\d+\.\d{2}$").all()
    assert tx["date"].str.contains(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$").all()
    assert tx["zip"].drop_nulls().str.contains(r"^\d+\.0$").all()
    assert 0 < tx["zip"].null_count() < tx.height
    assert (tx["amount"].str.starts_with("$-")).any()
    assert set(tx["card_id"]) <= set(cards["id"]) and set(tx["client_id"]) <= set(users["id"])
    assert set(cards["has_chip"]) <= {"YES", "NO"}
    assert cards["expires"].str.contains(r"^\d{2}/\d{4}$").all()
    assert users["total_debt"].str.contains(r"^\$\d+$").all()
    labels = json.loads((generated / "train_fraud_labels.json").read_text())["target"]
    assert set(labels.values()) <= {"Yes", "No"} and set(labels) <= set(tx["id"])
    mcc = json.loads((generated / "mcc_codes.json").read_text())
    assert set(tx["mcc"]) <= set(mcc)


def test_convert_types_every_dataset(generated: Path, tmp_path: Path) -> None:
    report = convert_dir(generated, tmp_path)
    assert report.ok
    for dataset in DATASETS:
        r = report.datasets[dataset]
        assert r.read == r.written > 0
    tx = [json.loads(line) for line in (tmp_path / "transactions.jsonl").read_text().splitlines()]
    assert len(tx) == 5000
    assert all(isinstance(t["amount"], float) for t in tx)
    assert all("T" in t["date"] for t in tx)
    assert all(t["zip"] is None or (len(t["zip"]) == 5 and t["zip"].isdigit()) for t in tx)
    card = json.loads((tmp_path / "cards.jsonl").read_text().splitlines()[0])
    assert isinstance(card["has_chip"], bool) and isinstance(card["credit_limit"], float)
    assert card["expires"][4] == "-"
    label = json.loads((tmp_path / "fraud_labels.jsonl").read_text().splitlines()[0])
    assert isinstance(label["id"], int) and isinstance(label["is_fraud"], bool)


def _cards(tmp_path: Path, body: bytes) -> Path:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "cards_data.csv").write_bytes(body)
    return src


def test_bad_rows_are_quarantined_with_line_field_and_reason(tmp_path: Path) -> None:
    rows = [
        GOOD_CARD,  # line 2
        GOOD_CARD.replace("12/2022", "13/2022"),  # 3: impossible month
        "3,2,Visa",  # 4: ragged
        GOOD_CARD.replace("YES", "MAYBE"),  # 5: not a yes/no
        GOOD_CARD.replace("Visa", "Vi\xffsa"),  # 6: not UTF-8 (written as latin-1 below)
        GOOD_CARD.replace("1,2,", ",2,", 1),  # 7: missing id
        GOOD_CARD.replace("$24295", "$24x"),  # 8: not money
        GOOD_CARD.replace("1,2,", "-5,2,", 1),  # 9: below the minimum
        GOOD_CARD.replace("1,2,", "9,2,", 1),  # 10: fine
    ]
    body = (CARDS_HEADER + "\n").encode() + "\n".join(rows).encode("latin-1") + b"\n"
    report = convert_dataset(_cards(tmp_path, body), tmp_path / "out", "cards")
    assert (report.read, report.written, report.rejected) == (9, 2, 7)
    rejected = [json.loads(line) for line in (tmp_path / "out/_rejected/cards.jsonl").read_text().splitlines()]
    by_line = {r["line"]: r for r in rejected}
    assert set(by_line) == {3, 4, 5, 6, 7, 8, 9}
    assert by_line[3]["field"] == "expires" and "13/2022" in by_line[3]["reason"]
    assert "ragged" in by_line[4]["reason"]
    assert by_line[5]["field"] == "has_chip"
    assert by_line[6]["reason"] == "not valid UTF-8 text"
    assert by_line[7]["field"] == "id" and "missing" in by_line[7]["reason"]
    assert by_line[8]["field"] == "credit_limit"
    assert by_line[9]["field"] == "id" and "minimum" in by_line[9]["reason"]
    assert all(r["file"].endswith("cards_data.csv") for r in rejected)
    written = [json.loads(line)["id"] for line in (tmp_path / "out/cards.jsonl").read_text().splitlines()]
    assert written == [1, 9]


def test_small_chunks_keep_rows_whole_and_line_numbers_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader cuts the file into chunks of whole rows: never inside a quoted field with a line break or a
    comma, and every chunk's rows keep their file line numbers (here a chunk is about one row)."""
    monkeypatch.setattr("loaders.sources.BLOCK_SIZE", 40)
    quoted = GOOD_CARD.replace("Visa", '"Visa,\nGold"')  # one row on lines 3-4
    rows = [GOOD_CARD, quoted, *(GOOD_CARD.replace("1,2,", f"{i},2,", 1) for i in range(5, 25)), "3,2,Visa"]
    rows[10] = GOOD_CARD.replace("Visa", "Vi\xffsa")  # line 13, in a chunk of its own
    body = (CARDS_HEADER + "\n").encode() + "\n".join(rows).encode("latin-1") + b"\n"
    report = convert_dataset(_cards(tmp_path, body), tmp_path / "out", "cards")
    assert (report.read, report.written, report.rejected) == (len(rows), len(rows) - 2, 2)
    rejected = [json.loads(line) for line in (tmp_path / "out/_rejected/cards.jsonl").read_text().splitlines()]
    assert {r["line"]: r["reason"].split(":")[0] for r in rejected} == {13: "not valid UTF-8 text", 25: "ragged row"}
    written = [json.loads(line) for line in (tmp_path / "out/cards.jsonl").read_text().splitlines()]
    assert written[1]["card_brand"] == "Visa,\nGold"
    assert [r["id"] for r in written[2:]] == [i for i in range(5, 25) if i != 13]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty file"),
        (b"a,b\n1,2\n", r"lacks the column\(s\) id, client_id"),
        (b"\xff\xfeid,client\n", "not UTF-8"),
    ],
)
def test_file_level_problems_are_errors_that_name_the_file(tmp_path: Path, body: bytes, message: str) -> None:
    src = _cards(tmp_path, body)
    with pytest.raises(ConvertError, match=message) as error:
        convert_dataset(src, tmp_path / "out", "cards")
    assert "cards_data.csv" in str(error.value)
    assert not (tmp_path / "out" / "cards.jsonl").exists()


def test_cli_convert_reports_and_exits_non_zero_on_rejects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _cards(tmp_path, (CARDS_HEADER + "\n" + GOOD_CARD + "\n3,2,Visa\n").encode())
    assert cli(["convert", str(src), str(tmp_path / "out"), "--dataset", "cards"]) == 1
    assert cli(["convert", str(src), str(tmp_path / "missing-out"), "--dataset", "users"]) == 1
    assert "no such file" in capsys.readouterr().err
    src.joinpath("cards_data.csv").write_text(CARDS_HEADER + "\n" + GOOD_CARD + "\n")
    assert cli(["convert", str(src), str(tmp_path / "out"), "--dataset", "cards"]) == 0
    assert not (tmp_path / "out/_rejected/cards.jsonl").exists()  # a clean re-run clears old rejects
