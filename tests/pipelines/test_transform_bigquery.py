"""The dbt project on BigQuery, as far as a machine without BigQuery goes: BigQuery's own dbt (its virtualenv, made
by the project as dev and prod make it) compiles every model, every test and the landing hook, and each model
compiles to BigQuery SQL with nothing of DuckDB's dialect left. DuckDB's side of the same models is built and
tested for real in test_transform.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from pipelines.transform import PROJECT_DIR
from pipelines.transform.bigquery_env import install
from pipelines.transform.profiles import dbt_vars, profile
from pipelines.transform.run import DBT_BIGQUERY_ENV, TransformError, build, profiles_dir

REPO = Path(__file__).resolve().parents[2]
OUTPUTS: dict[str, Any] = {
    "warehouse": {"kind": "bigquery", "silver": "kde_finance_silver", "gold": "kde_finance_gold", "path": None,
                  "project": "kde-dev", "location": "EU", "airflow_connection": "warehouse_bigquery"},
    "gcs_buckets": {"landing": "kde-dev-landing"},
    "gcp_project": "kde-dev",
}  # fmt: skip
LANDING = ("cards", "fraud_labels", "mcc_codes", "transactions", "users")
#: DuckDB's spellings BigQuery does not have (each model used one of them before the macros dispatched)
DUCKDB_ONLY = re.compile(
    r"\bexclude\s*\(|read_parquet|strftime|to_days|split_part|\bvarchar\b|\bdouble\b|filter\s*\(\s*where", re.I
)


@pytest.fixture(scope="module")
def bigquery_dbt() -> Path:
    return install(REPO / ".out" / "dbt-bigquery")


@pytest.fixture(scope="module")
def compiled(bigquery_dbt: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dbt compile` of the whole project with the stack's BigQuery profile: the target folder."""
    content = profile(OUTPUTS, keyfile={"type": "service_account"})
    output = content["kde_finance"]["outputs"]["stack"]
    # a service-account key makes the client fetch a token from Google before its first call; a ready token
    # (oauth-secrets) is the same adapter with nothing to fetch, and compiling sends no query
    del output["keyfile_json"]
    output |= {"method": "oauth-secrets", "token": "offline"}
    target = tmp_path_factory.mktemp("bigquery") / "target"
    with profiles_dir(content) as profiles:
        done = subprocess.run(
            [str(bigquery_dbt), "compile", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(profiles),
             "--target-path", str(target), "--log-path", str(target.parent), "--vars", json.dumps(dbt_vars(OUTPUTS)),
             "--no-populate-cache", "--no-use-colors", "--quiet"],
            env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}, capture_output=True, text=True,
            timeout=600, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return target


def _manifest(target: Path) -> dict[str, Any]:
    return dict(json.loads((target / "manifest.json").read_text(encoding="utf-8")))


def _compiled_models(target: Path) -> Iterator[tuple[str, str]]:
    for node in _manifest(target)["nodes"].values():
        if node["resource_type"] == "model":
            yield node["name"], node["compiled_code"]


def test_every_model_compiles_to_bigquery_sql(compiled: Path) -> None:
    models = dict(_compiled_models(compiled))
    assert len(models) == 9, sorted(models)
    for name, sql in models.items():
        assert not DUCKDB_ONLY.search(sql), f"{name}: DuckDB's {DUCKDB_ONLY.search(sql)!r} in BigQuery SQL"
        tree = sqlglot.parse_one(sql, read="bigquery", error_level=sqlglot.ErrorLevel.RAISE)
        unknown = sorted({f.name for f in tree.find_all(exp.Anonymous)})
        assert not unknown, f"{name}: functions sqlglot's BigQuery dialect does not know: {unknown}"
        assert "`kde-dev`.`kde_finance_" in sql, f"{name}: relations not in the stack's project and datasets"


def test_silver_reads_the_landing_external_tables_and_gold_reads_silver(compiled: Path) -> None:
    models = dict(_compiled_models(compiled))
    assert "from `kde-dev`.`kde_finance_silver`.`landing_transactions`" in models["silver_transactions"]
    assert "_FILE_NAME" in models["silver_transactions"]  # the load order of a key's versions
    assert "`kde-dev`.`kde_finance_silver`.`silver_transactions`" in models["gold_fraud_rate_by_state"]
    gold = [n for n in _manifest(compiled)["nodes"].values() if n["resource_type"] == "model" and "gold" in n["fqn"]]
    assert {n["schema"] for n in gold} == {"kde_finance_gold"}


def test_the_run_starts_by_making_one_external_table_per_landing_source(compiled: Path) -> None:
    [hook] = (compiled / "compiled").rglob("*on-run-start-0.sql")
    statements = [s.strip() for s in hook.read_text(encoding="utf-8").split(";") if s.strip()]
    made = {
        m["table"]: m["uri"]
        for s in statements
        if (m := re.fullmatch(
            r"create or replace external table `kde-dev`\.`kde_finance_silver`\.`landing_(?P<table>\w+)`\s+"
            r"options \(format = 'PARQUET', uris = \['(?P<uri>[^']+)'\]\)", s))
    }  # fmt: skip
    assert len(statements) == len(LANDING), statements
    assert made == {t: f"gs://kde-dev-landing/dlt/mongodb/{t}/*.parquet" for t in LANDING}


def test_a_bigquery_build_without_its_dbt_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DBT_BIGQUERY_ENV, str(tmp_path / "no-dbt"))
    with pytest.raises(TransformError, match=rf"\${DBT_BIGQUERY_ENV}=.*no-dbt.* names no file"):
        build(OUTPUTS, keyfile={"type": "service_account"}, work_dir=tmp_path)
