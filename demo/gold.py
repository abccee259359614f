"""The demo's closing answer from gold: the merchant states with the highest fraud rate, read from the warehouse
the stack outputs name (DuckDB on devstack, read-only), and where the dbt docs page is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: a state needs this many labelled transactions to be ranked (a rate over three rows answers nothing), or one
#: in a hundred of all labelled ones in a smaller sample
MIN_LABELLED = 20


def top_fraud_states(outputs: Mapping[str, Any], limit: int = 5) -> tuple[int, list[tuple[str, float, int, int]]]:
    """The least labelled transactions a ranked state has, and (state, fraud rate, fraud transactions, labelled
    transactions) of the top states, highest rate first."""
    import duckdb

    warehouse = outputs["warehouse"]
    db = duckdb.connect(warehouse["path"], read_only=True)
    table = f'"{warehouse["gold"]}".gold_fraud_rate_by_state'
    try:
        (labelled,) = db.execute(f"SELECT coalesce(sum(labelled_transactions), 0) FROM {table}").fetchone() or (0,)
        least = max(1, min(MIN_LABELLED, int(labelled) // 100))
        rows = db.execute(
            f"""SELECT merchant_state, fraud_rate, fraud_transactions, labelled_transactions FROM {table}
                WHERE labelled_transactions >= ?
                ORDER BY fraud_rate DESC, labelled_transactions DESC, merchant_state LIMIT ?""",
            [least, limit],
        ).fetchall()
        return least, rows
    finally:
        db.close()


def answer_lines(outputs: Mapping[str, Any], docs_page: str | None) -> list[str]:
    least, rows = top_fraud_states(outputs)
    lines = [f"gold: the {len(rows)} merchant states with the highest fraud rate (>= {least} labelled)"]
    lines += [f"  {state:<8} {rate:7.2%}  {frauds:,} of {labelled:,}" for state, rate, frauds, labelled in rows]
    lines.append(f"dbt docs (lineage): {docs_page or 'not generated'}")
    return lines
