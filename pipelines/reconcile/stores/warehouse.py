"""The warehouse's silver tables as a reconcile stage (`silver`), and the gold check.

`SilverStore` reads a dataset's silver table (dbt, pipelines/transform) back under the landing schema's field
names and forms (months as `YYYY-MM`, the instant as a timestamp, money as a decimal), so the usual compare finds a
key silver lost or a value its typing changed. `gold_month_totals` checks that gold adds up: each month's total
spend in gold equals the sum of silver's amounts for that month. Both read the DuckDB file the stack outputs name
(`warehouse.path`), read-only; a BigQuery warehouse is not read here (the stage is left out, see plan.py)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pipelines.reconcile.stores import StoreError

#: rows fetched per round trip
BATCH_ROWS = 5_000

#: dataset -> the silver table and the SELECT list giving back the landing schema's field names
SILVER: dict[str, tuple[str, str]] = {
    "transactions": (
        "silver_transactions",
        "transaction_id AS id, transaction_at AS date, client_id, card_id, amount, use_chip, merchant_id, "
        "merchant_city, merchant_state, zip, mcc, errors",
    ),
    "cards": (
        "silver_cards",
        "card_id AS id, client_id, card_brand, card_type, card_number, strftime(expires_month, '%Y-%m') AS expires, "
        "cvv, has_chip, num_cards_issued, credit_limit, strftime(account_opened_month, '%Y-%m') AS acct_open_date, "
        "year_pin_last_changed, card_on_dark_web",
    ),
    "users": (
        "silver_users",
        "client_id AS id, current_age, retirement_age, birth_year, birth_month, gender, address, latitude, "
        "longitude, per_capita_income, yearly_income, total_debt, credit_score, num_credit_cards",
    ),
    "mcc_codes": ("silver_mcc_codes", "mcc, mcc_description AS description"),
    "fraud_labels": ("silver_fraud_labels", "transaction_id AS id, is_fraud"),
}


def readable(outputs: Mapping[str, Any], dataset: str) -> bool:
    """Whether the stack's warehouse is one this stage reads (DuckDB) and has a silver table for `dataset`."""
    warehouse = outputs.get("warehouse") or {}
    return warehouse.get("kind") == "duckdb" and bool(warehouse.get("path")) and dataset in SILVER


def _connect(outputs: Mapping[str, Any], where: str) -> Any:
    import duckdb

    try:
        return duckdb.connect(outputs["warehouse"]["path"], read_only=True)
    except duckdb.Error as exc:
        raise StoreError(f"warehouse {where}: {exc}") from None


class SilverStore:
    stage = "silver"
    complete = True

    def __init__(self, outputs: Mapping[str, Any], dataset: str) -> None:
        self.outputs = outputs
        self.table, self.columns = SILVER[dataset]
        self.schema = outputs["warehouse"]["silver"]
        self.where = f"{outputs['warehouse']['path']}:{self.schema}.{self.table}"
        self.coverage: dict[str, Any] = {}

    def records(self) -> Iterator[dict[str, Any]]:
        import duckdb

        db = _connect(self.outputs, self.where)
        try:
            cursor = db.execute(f'SELECT {self.columns} FROM "{self.schema}"."{self.table}"')
            names = [d[0] for d in cursor.description]
            while rows := cursor.fetchmany(BATCH_ROWS):
                yield from (dict(zip(names, row, strict=True)) for row in rows)
        except duckdb.Error as exc:
            raise StoreError(f"warehouse {self.where}: {str(exc).splitlines()[0]}") from None
        finally:
            db.close()


@dataclass
class GoldCheck:
    """Each month's total: silver's sum of amounts against gold's client-month totals."""

    months: int = 0
    #: (month YYYY-MM, silver total, gold total) where they differ (or one side lacks the month)
    differing: list[tuple[str, Decimal | None, Decimal | None]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.months > 0 and not self.differing

    def line(self) -> str:
        if self.ok:
            return f"gold check: {self.months} month(s), each month's total in gold equals silver's"
        if not self.months:
            return "gold check: no month in silver or gold"
        first = ", ".join(f"{m} silver {s} gold {g}" for m, s, g in self.differing[:5])
        return f"gold check: {len(self.differing)} of {self.months} month(s) differ: {first}"


def gold_month_totals(outputs: Mapping[str, Any]) -> GoldCheck:
    warehouse = outputs["warehouse"]
    silver, gold = warehouse["silver"], warehouse["gold"]
    where = f"{warehouse['path']}:{gold}.gold_client_monthly_spend"
    query = f"""
        WITH s AS (SELECT transaction_month AS month, sum(amount) AS total
                   FROM "{silver}".silver_transactions GROUP BY 1),
             g AS (SELECT transaction_month AS month, sum(total_amount) AS total
                   FROM "{gold}".gold_client_monthly_spend GROUP BY 1)
        SELECT strftime(coalesce(s.month, g.month), '%Y-%m'), s.total, g.total
        FROM s FULL OUTER JOIN g ON s.month = g.month ORDER BY 1"""
    import duckdb

    db = _connect(outputs, where)
    try:
        rows = db.execute(query).fetchall()
    except duckdb.Error as exc:
        raise StoreError(f"warehouse {where}: {str(exc).splitlines()[0]}") from None
    finally:
        db.close()
    return GoldCheck(months=len(rows), differing=[(m, s, g) for m, s, g in rows if s != g])
