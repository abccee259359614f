"""devstack's Airflow from the demo's side: run a DAG with `airflow dags test` (the DAG's real tasks against the
same metadata DB, connections and variables as the scheduler's runs) and read a task's XCom back through the
REST API v2 (a JWT from `POST /auth/token`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from devstack.config import DevstackConfig
from devstack.services.airflow import Airflow

TIMEOUT_S = 30


class DevstackAirflow:
    def __init__(self, cfg: DevstackConfig | None = None) -> None:
        self.service = Airflow(cfg or DevstackConfig.from_env())

    @property
    def credentials(self) -> dict[str, str]:
        return self.service.api_credentials()

    def dags_test(self, dag_id: str, log: Path, conf: dict[str, Any] | None = None) -> int:
        """Run one DAG run of `dag_id` now; its output goes to `log`. Returns the CLI's exit code."""
        self.service.ensure_db()
        logical_date = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        args = [_airflow(), "dags", "test", dag_id, logical_date]
        if conf:
            args += ["--conf", json.dumps(conf)]
        with log.open("w") as out:
            proc = subprocess.run(
                args, env={**os.environ, **self.service.cli_env()}, stdout=out, stderr=subprocess.STDOUT, check=False
            )
        return proc.returncode

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params).json()

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """`method` on `/api/v2{path}` with a fresh JWT; raises on an HTTP error (except 404 on DELETE)."""
        creds = self.credentials
        token = requests.post(
            f"{creds['url']}/auth/token",
            json={"username": creds["username"], "password": creds["password"]},
            timeout=TIMEOUT_S,
        )
        token.raise_for_status()
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        response = requests.request(
            method, f"{creds['url']}/api/v2{path}", headers=headers, timeout=TIMEOUT_S, **kwargs
        )
        if not (method == "DELETE" and response.status_code == 404):
            response.raise_for_status()
        return response

    def latest_xcom(self, dag_id: str, task_id: str) -> Any:
        """The return value of `task_id` in the newest run of `dag_id`."""
        runs = self.get(f"/dags/{dag_id}/dagRuns", order_by="-run_after", limit=1)["dag_runs"]
        if not runs:
            raise RuntimeError(f"Airflow has no run of {dag_id}")
        run_id = runs[0]["dag_run_id"]
        entry = self.get(
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value", deserialize="true"
        )
        value = entry.get("value")
        return json.loads(value) if isinstance(value, str) else value


def _airflow() -> str:
    beside = Path(sys.executable).parent / "airflow"
    return str(beside) if beside.exists() else "airflow"
