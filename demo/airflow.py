"""devstack's Airflow from the demo's side: run a DAG with `airflow dags test` (the DAG's real tasks against the
same metadata DB, connections and variables as the scheduler's runs), alone or several in one process
(`DagSession`), and read a task's XCom back through the REST API v2 (a JWT from `POST /auth/token`)."""

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
        with log.open("w") as out:
            proc = subprocess.run(
                [_airflow(), *dags_test_argv(dag_id, conf)],
                env={**os.environ, **self.service.cli_env()},
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        return proc.returncode

    def session(self) -> DagSession:
        """Several `dags test` runs in one Airflow process (demo.dag_session): Airflow starts once."""
        self.service.ensure_db()
        return DagSession({**os.environ, **self.service.cli_env()})

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


def dags_test_argv(dag_id: str, conf: dict[str, Any] | None) -> list[str]:
    logical_date = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    return ["dags", "test", dag_id, logical_date, *(["--conf", json.dumps(conf)] if conf else [])]


class DagSession:
    """`airflow dags test` kept open (demo.dag_session): `run` is one DAG run, its output in `log`, its exit code
    returned as the CLI's would be. Started on the first run; `close` ends the process."""

    def __init__(self, env: dict[str, str], command: list[str] | None = None) -> None:
        self.env = env
        self.command = command or [sys.executable, "-m", "demo.dag_session"]
        self.proc: subprocess.Popen[str] | None = None

    def run(self, dag_id: str, log: Path, conf: dict[str, Any] | None = None) -> int:
        if self.proc is None:
            self.proc = subprocess.Popen(
                self.command,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        request = {"argv": dags_test_argv(dag_id, conf), "log": str(log.resolve())}
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            answer = self.proc.stdout.readline()
        except BrokenPipeError:
            answer = ""
        if not answer:  # the process died (its last words are in the log)
            code = self.proc.wait()
            self.proc = None
            return code or 1
        return int(json.loads(answer)["code"])

    def close(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    def __enter__(self) -> DagSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _airflow() -> str:
    beside = Path(sys.executable).parent / "airflow"
    return str(beside) if beside.exists() else "airflow"
