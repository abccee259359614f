"""Airflow 3 (devstack): the api-server reports every component healthy, and `airflow dags test` runs a Task SDK
DAG whose task leaves an effect the test reads back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.devstack

DAG = """
import pendulum
from airflow.sdk import dag, task


@dag(dag_id="devstack_smoke", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def smoke():
    @task
    def write(path: str) -> int:
        from pathlib import Path
        Path(path).write_text("42")
        return 42

    write({path!r})


smoke()
"""


def test_api_server_reports_every_component_healthy(devstack: Any) -> None:
    outputs = devstack("airflow")
    health = requests.get(f"{outputs['airflow_url']}/api/v2/monitor/health", timeout=10).json()
    statuses = {part: health[part]["status"] for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")}
    assert set(statuses.values()) == {"healthy"}, statuses


def test_dags_test_runs_a_taskflow_dag(devstack: Any, tmp_path: Path) -> None:
    from devstack.config import DevstackConfig
    from devstack.services.airflow import Airflow

    devstack("airflow")
    effect = tmp_path / "effect.txt"
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "smoke.py").write_text(textwrap.dedent(DAG.format(path=str(effect))))

    airflow = Airflow(DevstackConfig.from_env())
    airflow.ensure_db()
    env = {**os.environ, **airflow.cli_env(), "AIRFLOW__CORE__DAGS_FOLDER": str(dags)}
    proc = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", "devstack_smoke", "2026-01-02"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert effect.read_text() == "42"
    states = subprocess.run(
        [sys.executable, "-m", "airflow", "tasks", "states-for-dag-run", "devstack_smoke", "2026-01-02", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert states.returncode == 0, states.stderr[-2000:]
    assert [t["state"] for t in json.loads(states.stdout)] == ["success"]
