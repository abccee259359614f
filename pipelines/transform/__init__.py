"""Silver and gold with dbt: one project (`dbt/` beside this module) built into the warehouse the stack outputs
name (`warehouse`: DuckDB on devstack, BigQuery on dev and prod), from the lake's landing parquet.

- `assets`: the Airflow Asset the batch DAG emits and the transform DAG is scheduled on (no I/O);
- `profiles`: the dbt profile and vars for one stack, built at run time from its outputs;
- `run`: `dbt build` + `dbt docs generate` (DuckDB's in-process, BigQuery's own dbt as a command), with one result
  per model and test;
- `bigquery_env`: the virtualenv BigQuery's dbt runs from (it cannot share this environment).
"""

from __future__ import annotations

from pathlib import Path

#: the dbt project (dbt_project.yml, models/silver, models/gold), shipped with the package and the DAGs
PROJECT_DIR = Path(__file__).resolve().parent / "dbt"
