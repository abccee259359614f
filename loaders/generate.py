"""A generator of the Kaggle "Financial Transactions" files, offline: same five files, columns, text formats
($-money, YES/NO, MM/YYYY, `2010-01-01 00:01:00`, zip as `58523.0`), key relations (transactions → cards →
users, mcc codes, fraud labels for part of the transactions) and plausible distributions. Deterministic for
a seed; vectorised and written in chunks, so 13M transactions take a short while and bounded memory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

MCC_CODES: dict[str, str] = {
    "5812": "Eating Places and Restaurants",
    "5411": "Grocery Stores, Supermarkets",
    "5541": "Service Stations",
    "5912": "Drug Stores and Pharmacies",
    "5311": "Department Stores",
    "4829": "Money Transfer",
    "4121": "Taxicabs and Limousines",
    "5300": "Wholesale Clubs",
    "5499": "Miscellaneous Food Stores",
    "4784": "Tolls and Bridge Fees",
    "4900": "Utilities - Electric, Gas, Water, Sanitary",
    "5814": "Fast Food Restaurants",
    "7538": "Automotive Service Shops",
    "5942": "Book Stores",
    "5732": "Electronics Stores",
    "7832": "Motion Picture Theaters",
    "3000": "Airlines",
    "7011": "Lodging - Hotels, Motels, Resorts",
    "8011": "Doctors, Physicians",
    "5661": "Shoe Stores",
}
CITIES = [("Houston", "TX", 77001), ("Chicago", "IL", 60601), ("Miami", "FL", 33101), ("Seattle", "WA", 98101),
          ("Boston", "MA", 2108), ("Denver", "CO", 80201), ("Phoenix", "AZ", 85001), ("Columbus", "OH", 43004),
          ("La Verne", "CA", 91750), ("Monterey Park", "CA", 91754)]  # fmt: skip
ERRORS = ["Insufficient Balance", "Bad PIN", "Technical Glitch", "Bad CVV", "Bad Expiration", "Bad Card Number"]
FILES = ("users_data.csv", "cards_data.csv", "transactions_data.csv", "mcc_codes.json", "train_fraud_labels.json")
CHUNK = 1_000_000


def entity_counts(rows: int) -> tuple[int, int]:
    """(users, cards) for `rows` transactions: the real file's 2,000 users and ~3 cards each at full size."""
    users = int(min(2000, max(20, rows // 200)))
    return users, users * 3


def _month_years(rng: np.random.Generator, n: int, first_year: int, end_year: int) -> list[str]:
    months, years = rng.integers(1, 13, n), rng.integers(first_year, end_year, n)
    return [f"{m:02d}/{y}" for m, y in zip(months, years, strict=True)]


def _fmt_money(series: pl.Series, decimals: int) -> pl.Series:
    if decimals == 0:
        return pl.Series(["$" + str(int(v)) for v in series.to_list()])
    return pl.Series([f"${v:.{decimals}f}" for v in series.to_list()])


def users_frame(n: int, rng: np.random.Generator) -> pl.DataFrame:
    age = rng.integers(18, 90, n)
    income = rng.lognormal(10.7, 0.45, n).round()
    city = rng.integers(0, len(CITIES), n)
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "current_age": age,
            "retirement_age": rng.integers(60, 75, n),
            "birth_year": 2020 - age,
            "birth_month": rng.integers(1, 13, n),
            "gender": np.where(rng.random(n) < 0.5, "Female", "Male"),
            "address": [f"{rng.integers(1, 9999)} {s} Street" for s in rng.choice(["Oak", "Main", "Elm", "Pine"], n)],
            "latitude": np.round(25 + rng.random(n) * 22, 2),
            "longitude": np.round(-123 + rng.random(n) * 52, 2),
            "per_capita_income": _fmt_money(pl.Series((income * 0.5).round()), 0),
            "yearly_income": _fmt_money(pl.Series(income), 0),
            "total_debt": _fmt_money(pl.Series((income * rng.random(n) * 2).round()), 0),
            "credit_score": rng.integers(480, 851, n),
            "num_credit_cards": rng.integers(1, 9, n),
            "_city": city,
        }
    )


def cards_frame(n: int, users: int, rng: np.random.Generator) -> pl.DataFrame:
    brand = rng.choice(["Visa", "Mastercard", "Amex", "Discover"], n, p=[0.38, 0.52, 0.06, 0.04])
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "client_id": rng.integers(0, users, n),
            "card_brand": brand,
            "card_type": rng.choice(["Credit", "Debit", "Debit (Prepaid)"], n, p=[0.33, 0.58, 0.09]),
            "card_number": rng.integers(4_000_000_000_000_000, 5_999_999_999_999_999, n, dtype=np.int64),
            "expires": [
                f"{m:02d}/{y}" for m, y in zip(rng.integers(1, 13, n), rng.integers(2020, 2031, n), strict=True)
            ],
            "cvv": rng.integers(100, 1000, n),
            "has_chip": np.where(rng.random(n) < 0.9, "YES", "NO"),
            "num_cards_issued": rng.integers(1, 4, n),
            "credit_limit": _fmt_money(pl.Series(rng.lognormal(9.5, 0.8, n).round()), 0),
            "acct_open_date": [
                f"{m:02d}/{y}" for m, y in zip(rng.integers(1, 13, n), rng.integers(1991, 2020, n), strict=True)
            ],
            "year_pin_last_changed": rng.integers(2002, 2021, n),
            "card_on_dark_web": np.full(n, "No"),
        }
    )


def transactions_chunk(
    start: int, n: int, cards: pl.DataFrame, users: pl.DataFrame, rng: np.random.Generator
) -> pl.DataFrame:
    card = rng.integers(0, cards.height, n)
    client = cards["client_id"].to_numpy()[card]
    city = users["_city"].to_numpy()[client]
    online = rng.random(n) < 0.12
    seconds = np.sort(rng.integers(0, 10 * 365 * 86400, n)) + 1_262_304_000  # 2010-01-01 onwards
    amount = np.round(rng.lognormal(3.5, 1.1, n), 2).clip(0.01, 6820.20)
    amount = np.where(rng.random(n) < 0.05, -np.minimum(amount, 500), amount)
    has_error = rng.random(n) < 0.016
    frame = pl.DataFrame(
        {
            "id": np.arange(start, start + n) + 7_475_327,
            "date": pl.Series(seconds * 1_000_000).cast(pl.Datetime("us")).dt.strftime("%Y-%m-%d %H:%M:%S"),
            "client_id": client,
            "card_id": card,
            "amount": pl.Series(amount),
            "use_chip": np.where(
                online, "Online Transaction", rng.choice(["Swipe Transaction", "Chip Transaction"], n)
            ),
            "merchant_id": rng.integers(1, 100_000, n),
            "merchant_city": np.where(online, "ONLINE", np.array([c[0] for c in CITIES])[city]),
            "merchant_state": np.where(online, "", np.array([c[1] for c in CITIES])[city]),
            "zip": np.where(online, "", np.array([f"{c[2]}.0" for c in CITIES])[city]),
            "mcc": rng.choice(np.array([int(k) for k in MCC_CODES]), n),
            "errors": np.where(has_error, rng.choice(ERRORS, n), ""),
        }
    )
    return frame.with_columns(
        pl.format("${}", pl.col("amount").round(2).cast(pl.String))
        .str.replace(r"\.(\d)$", ".${1}0")
        .str.replace(r"^\$(-?\d+)$", "$${1}.00")
        .str.replace(r"^\$-", "$$-")
        .alias("amount"),
        # missing values are empty fields in the Kaggle files, not quoted empty strings
        pl.col("merchant_state", "zip", "errors").replace("", None),
    )


def generate_dataset(out_dir: Path, rows: int, seed: int = 42) -> dict[str, Path]:
    """Write the five files for `rows` transactions into `out_dir`; returns file name -> path."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_users, n_cards = entity_counts(rows)
    users = users_frame(n_users, rng)
    cards = cards_frame(n_cards, n_users, rng)
    paths = {name: out_dir / name for name in FILES}
    users.drop("_city").write_csv(paths["users_data.csv"])
    cards.write_csv(paths["cards_data.csv"])
    paths["mcc_codes.json"].write_text(json.dumps(MCC_CODES, indent=1), encoding="utf-8")

    with paths["transactions_data.csv"].open("wb") as csv, paths["train_fraud_labels.json"].open("w") as labels:
        labels.write('{"target": {')
        first_label = True
        for start in range(0, rows, CHUNK):
            chunk = transactions_chunk(start, min(CHUNK, rows - start), cards, users, rng)
            chunk.write_csv(csv, include_header=start == 0)
            ids = chunk["id"].to_numpy()
            labelled = ids[rng.random(len(ids)) < 0.67]  # the real labels cover about two thirds
            fraud = rng.random(len(labelled)) < 0.0015
            text = ", ".join(f'"{i}": "{"Yes" if f else "No"}"' for i, f in zip(labelled, fraud, strict=True))
            if text:
                labels.write(("" if first_label else ", ") + text)
                first_label = False
        labels.write("}}")
    return paths
