"""The demo's closing answer from gold: the merchant states with the highest fraud rate, read from the warehouse
the stack outputs name (DuckDB on devstack, read-only), and where the dbt docs page is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: a state needs this many labelled transactions to be ranked (a rate over three rows answers nothing)
MIN_LABELLED = 20


def top_fraud_states(outputs: Mapping[str, Any], limit: int = 5) -> list[tuple[str, float, int, int]]:
    """(state, fraud rate, fraud transactions, labelled transactions), highest rate first."""
    import duckdb

    warehouse = outputs["warehouse"]
    db = duckdb.connect(warehouse["path"], read_only=True)
    try:
        return db.execute(
            f"""SELECT merchant_state, fraud_rate, fraud_transactions, labelled_transactions
                FROM "{warehouse["gold"]}".gold_fraud_rate_by_state
                WHERE labelled_transactions >= ?
                ORDER BY fraud_rate DESC, labelled_transactions DESC, merchant_state LIMIT ?""",
            [MIN_LABELLED, limit],
        ).fetchall()
    finally:
        db.close()


def answer_lines(outputs: Mapping[str, Any], docs_page: str | None) -> list[str]:
    rows = top_fraud_states(outputs)
    lines = [f"gold: the {len(rows)} merchant states with the highest fraud rate (>= {MIN_LABELLED} labelled)"]
    lines += [f"  {state:<8} {rate:7.2%}  {frauds:,} of {labelled:,}" for state, rate, frauds, labelled in rows]
    lines.append(f"dbt docs (lineage): {docs_page or 'not generated'}")
    return lines
