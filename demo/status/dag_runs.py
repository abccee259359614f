"""Airflow: the last DAG runs over every DAG (REST API v2, `GET /dags/~/dagRuns`), logged in as devstack's
Airflow admin (`POST /auth/token` with the login in devstack's password file, as the demo does)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import requests

from demo.status.section import TIMEOUT_S, Unreadable, first_line, guarded
from demo.status.sources import Sources
from devstack.services.airflow import ADMIN_USER, Airflow

DEFAULT_RUNS = 8


def section(src: Sources, runs: int = DEFAULT_RUNS) -> dict[str, Any]:
    return guarded("airflow", lambda: src.endpoint("airflow_url", "airflow"), lambda where: collect(src, where, runs))


def collect(src: Sources, where: str, runs: int) -> dict[str, Any]:
    base = where.rstrip("/")
    headers = {"Authorization": f"Bearer {token(src, base)}"}
    response = requests.get(
        f"{base}/api/v2/dags/~/dagRuns",
        params={"order_by": "-run_after", "limit": str(runs)},
        headers=headers,
        timeout=TIMEOUT_S,
    )
    _raise_for(response, "GET /api/v2/dags/~/dagRuns")
    body = response.json()
    return {"url": where, "total_runs": body.get("total_entries"), "runs": [row(r) for r in body["dag_runs"]]}


def token(src: Sources, base: str) -> str:
    service = Airflow(src.cfg)
    password = service.admin_password()  # read only: the screen never creates a login
    if password is None:
        raise Unreadable(f"airflow: no API login: no password in {service.password_file} (`make up` writes it)")
    response = requests.post(
        f"{base}/auth/token", json={"username": ADMIN_USER, "password": password}, timeout=TIMEOUT_S
    )
    _raise_for(response, "POST /auth/token", body=False)  # its answer may echo the login: the status only
    return str(response.json()["access_token"])


def row(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "dag_id": run.get("dag_id"),
        "run_id": run.get("dag_run_id"),
        "state": run.get("state"),
        "run_type": run.get("run_type"),
        "run_after": run.get("run_after"),
        "start_date": run.get("start_date"),
        "end_date": run.get("end_date"),
        "seconds": seconds(run.get("start_date"), run.get("end_date")),
    }


def seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 1)


def _raise_for(response: requests.Response, what: str, body: bool = True) -> None:
    if response.status_code >= 400:
        reason = f": {first_line(response.text)[:200]}" if body else ""
        raise Unreadable(f"airflow: {what}: HTTP {response.status_code}{reason}")
