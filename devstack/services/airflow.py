"""Apache Airflow 2.10 (`airflow standalone`: scheduler, triggerer and webserver in one process group) with
a SQLite metadata DB under run/airflow/home, DAGs from the repo's pipelines/dags.

The webserver's admin password is generated on first start and kept in
run/airflow/home/standalone_admin_password.txt (user `admin`). Other processes run the `airflow` CLI against
the same metadata DB with `Airflow(cfg).cli_env()` (after `ensure_db()`), e.g. `airflow dags test`.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import requests

from devstack.config import REPO_ROOT
from devstack.service import Service, ServiceError

DAGS_FOLDER_VARIABLE = "DEVSTACK_AIRFLOW_DAGS_FOLDER"


class Airflow(Service):
    name = "airflow"
    port_names = ("airflow",)
    description = "Airflow 2.10 standalone (SQLite), DAGs from pipelines/dags, user admin"
    start_timeout = 180.0

    @property
    def home(self) -> Path:
        return self.run_dir / "home"

    @property
    def dags_folder(self) -> Path:
        return Path(os.environ.get(DAGS_FOLDER_VARIABLE) or REPO_ROOT / "pipelines" / "dags").resolve()

    @property
    def password_file(self) -> Path:
        return self.home / "standalone_admin_password.txt"

    def is_installed(self) -> bool:
        return importlib.util.find_spec("airflow") is not None

    def install(self) -> None:
        if not self.is_installed():
            raise ServiceError("airflow: the apache-airflow package is missing; run `make setup` (extra 'airflow')")

    def cli_env(self) -> dict[str, str]:
        """Variables (to add to os.environ) under which the `airflow` CLI uses this devstack's Airflow."""
        return {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__WEBSERVER__WEB_SERVER_HOST": self.cfg.host,
            "AIRFLOW__WEBSERVER__WEB_SERVER_PORT": str(self.port),
            "AIRFLOW__WEBSERVER__BASE_URL": self.cfg.url("airflow"),
        }

    def env(self) -> dict[str, str]:
        # two cores: one gunicorn worker is plenty for a local UI
        return {
            **self.cli_env(),
            "AIRFLOW__WEBSERVER__WORKERS": "1",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            # standalone starts its parts as `airflow …` subprocesses: the venv's bin must be on PATH
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def ensure_db(self) -> None:
        """Create or upgrade the metadata DB (once per Airflow version; `airflow db migrate` is idempotent)."""
        import airflow

        stamp = self.home / f".migrated-{airflow.__version__}"
        if stamp.exists():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        self.dags_folder.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env={**os.environ, **self.cli_env()},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            raise ServiceError(
                f"airflow: `airflow db migrate` in {self.home} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            )
        stamp.touch()

    def prepare(self) -> None:
        self.ensure_db()

    def command(self) -> list[str]:
        return [sys.executable, "-m", "airflow", "standalone"]

    def ready(self) -> bool:
        resp = requests.get(f"{self.cfg.url('airflow')}/health", timeout=3)
        if resp.status_code != 200:
            return False
        health = resp.json()
        return bool(health.get("metadatabase", {}).get("status") == "healthy")
