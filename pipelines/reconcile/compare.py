"""One stage against the reference stage, from the digests: rows, distinct keys, duplicated keys; then the
per-segment checksums (row count and the sum of each column's hashes per key segment); only the rows of the
segments that differ are joined by key, which names the missing and extra keys and, for a key in both, the
columns whose values differ."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipelines.reconcile.digest import Digests

#: keys listed in the report per finding (the counts are always complete)
FIRST = 5


@dataclass
class Finding:
    count: int = 0
    first: list[Any] = field(default_factory=list)


@dataclass
class StageComparison:
    rows: int = 0
    keys: int = 0
    duplicates: Finding = field(default_factory=Finding)
    missing: Finding = field(default_factory=Finding)
    extra: Finding = field(default_factory=Finding)
    mismatched: Finding = field(default_factory=Finding)  # first: [{"key", "columns"}]
    #: records the store holds but could not decode (e.g. no schema-registry framing on a topic), not compared
    unreadable: Finding = field(default_factory=Finding)  # first: [{"partition", "offset", "error"}]
    by_column: dict[str, int] = field(default_factory=dict)
    segments_differing: int = 0


def compare(digests: Digests, stage: str, reference: str, complete: bool) -> StageComparison:
    db, result = digests.db, StageComparison()
    rows, keys = db.execute(
        "SELECT count(*), count(DISTINCT key) FROM digests WHERE stage = ?", [stage]
    ).fetchone() or (0, 0)
    result.rows, result.keys = int(rows), int(keys)
    result.duplicates = _duplicates(digests, stage)
    if stage == reference:
        return result
    segments = _differing_segments(digests, stage, reference)
    result.segments_differing = len(segments)
    if not segments:
        return result
    db.execute("CREATE OR REPLACE TEMP TABLE bad_segments (seg USMALLINT)")
    db.executemany("INSERT INTO bad_segments VALUES (?)", [[s] for s in segments])
    _join(digests, stage, reference, complete, result)
    return result


def _duplicates(digests: Digests, stage: str) -> Finding:
    query = "SELECT key, count(*) AS n FROM digests WHERE stage = ? GROUP BY key HAVING n > 1"
    (count,) = digests.db.execute(f"SELECT count(*) FROM ({query})", [stage]).fetchone() or (0,)
    first = digests.db.execute(f"{query} ORDER BY key LIMIT {FIRST}", [stage]).fetchall()
    return Finding(int(count), [{"key": k, "copies": int(n)} for k, n in first])


def _differing_segments(digests: Digests, a: str, b: str) -> list[int]:
    sums = ", ".join(f"sum({c})::HUGEINT AS {c}" for c in digests.columns)
    differs = " OR ".join(f"x.{c} IS DISTINCT FROM y.{c}" for c in ["n", *digests.columns])
    query = f"""
        WITH agg AS (SELECT stage, seg, count(*) AS n, {sums} FROM digests WHERE stage IN (?, ?) GROUP BY stage, seg),
             x AS (SELECT * FROM agg WHERE stage = ?), y AS (SELECT * FROM agg WHERE stage = ?)
        SELECT coalesce(x.seg, y.seg) AS seg FROM x FULL OUTER JOIN y ON x.seg = y.seg WHERE {differs} ORDER BY seg"""
    return [int(s) for (s,) in digests.db.execute(query, [a, b, a, b]).fetchall()]


def _join(digests: Digests, stage: str, reference: str, complete: bool, result: StageComparison) -> None:
    cols = ", ".join(digests.columns)
    side = f"SELECT DISTINCT key, {cols} FROM digests WHERE stage = ? AND seg IN (SELECT seg FROM bad_segments)"
    digests.db.execute(
        "CREATE OR REPLACE TEMP TABLE joined AS SELECT r.key AS rkey, s.key AS skey, "
        + ", ".join(f"r.{c} AS r{c}, s.{c} AS s{c}" for c in digests.columns)
        + f" FROM ({side}) r FULL OUTER JOIN ({side}) s ON r.key = s.key",
        [reference, stage],
    )
    if complete:
        result.missing = _keys(digests, "skey IS NULL", "rkey")
    result.extra = _keys(digests, "rkey IS NULL", "skey")
    differs = " OR ".join(f"r{c} IS DISTINCT FROM s{c}" for c in digests.columns)
    both = f"rkey IS NOT NULL AND skey IS NOT NULL AND ({differs})"
    per_column = ", ".join(f"count(*) FILTER (WHERE r{c} IS DISTINCT FROM s{c})" for c in digests.columns)
    counts = digests.db.execute(f"SELECT count(DISTINCT rkey), {per_column} FROM joined WHERE {both}").fetchone()
    names = digests.schema.field_names
    result.mismatched.count = int(counts[0]) if counts else 0
    result.by_column = {names[i]: int(n) for i, n in enumerate(counts[1:] if counts else []) if n}
    first = digests.db.execute(
        f"SELECT rkey, {', '.join(f'r{c} IS DISTINCT FROM s{c}' for c in digests.columns)} FROM joined "
        f"WHERE {both} ORDER BY rkey LIMIT {FIRST}"
    ).fetchall()
    result.mismatched.first = [
        {"key": row[0], "columns": [names[i] for i, flag in enumerate(row[1:]) if flag]} for row in first
    ]


def _keys(digests: Digests, where: str, column: str) -> Finding:
    (count,) = digests.db.execute(f"SELECT count(DISTINCT {column}) FROM joined WHERE {where}").fetchone() or (0,)
    first = digests.db.execute(
        f"SELECT DISTINCT {column} FROM joined WHERE {where} ORDER BY 1 LIMIT {FIRST}"
    ).fetchall()
    return Finding(int(count), [k for (k,) in first])
