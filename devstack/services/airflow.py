"""Apache Airflow 2.10: scheduler (SequentialExecutor), triggerer and webserver in one process group, with a
SQLite metadata DB under run/airflow/home and DAGs from the repo's pipelines/dags.

What runs: this module as a small supervisor (`python -m devstack.services.airflow`) that starts the three
components with `--skip-serve-logs`, prefixes their output with the component's name, and stops them all when
one exits. Why not `airflow standalone`: its scheduler and triggerer each start a log server (two gunicorn
workers apiece, ~680 MB together) on the fixed ports 8793/8794 of every interface, which clash with a second
Airflow and are useless here, since the webserver reads task logs from the same folder.

The webserver's user is `admin`; its password is generated on first start (as `airflow standalone` does it)
and kept in run/airflow/home/standalone_admin_password.txt. The REST API takes it as basic auth. Other
processes run the `airflow` CLI against the same metadata DB with `Airflow(cfg).cli_env()` (after
`ensure_db()`), e.g. `airflow dags test`.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import signal
import string
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import requests

from devstack.config import REPO_ROOT
from devstack.service import Service, ServiceError

DAGS_FOLDER_VARIABLE = "DEVSTACK_AIRFLOW_DAGS_FOLDER"
ADMIN_USER = "admin"
#: the components the supervisor runs, as `airflow <args>`
COMPONENTS: dict[str, list[str]] = {
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
    "webserver": ["webserver"],
}
#: creates the admin user with the given password, or sets the password of an existing one
_ADMIN_SCRIPT = """
import sys
from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

user_name, password = sys.argv[1], sys.argv[2]
with get_application_builder() as appbuilder:
    sm = appbuilder.sm
    user = sm.find_user(user_name)
    if user is None:
        role = sm.find_role("Admin")
        if role is None or not sm.add_user(user_name, "Admin", "User", "admin@example.com", role, password):
            sys.exit(f"could not create the user {user_name!r}")
    elif not sm.reset_password(user.id, password):
        sys.exit(f"could not set the password of {user_name!r}")
"""


class Airflow(Service):
    name = "airflow"
    port_names = ("airflow",)
    description = "Airflow 2.10 scheduler + webserver (SQLite), DAGs from pipelines/dags, user admin"
    start_timeout = 180.0

    @property
    def home(self) -> Path:
        return self.run_dir / "home"

    @property
    def db_file(self) -> Path:
        return self.home / "airflow.db"

    @property
    def dags_folder(self) -> Path:
        return Path(os.environ.get(DAGS_FOLDER_VARIABLE) or REPO_ROOT / "pipelines" / "dags").resolve()

    @property
    def password_file(self) -> Path:
        return self.home / "standalone_admin_password.txt"

    def admin_password(self) -> str | None:
        try:
            return self.password_file.read_text().strip() or None
        except FileNotFoundError:
            return None

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
            "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_file}",
            "AIRFLOW__WEBSERVER__WEB_SERVER_HOST": self.cfg.host,
            "AIRFLOW__WEBSERVER__WEB_SERVER_PORT": str(self.port),
            "AIRFLOW__WEBSERVER__BASE_URL": self.cfg.url("airflow"),
            "AIRFLOW__API__AUTH_BACKENDS": (
                "airflow.providers.fab.auth_manager.api.auth.backend.basic_auth,airflow.api.auth.backend.session"
            ),
        }

    def env(self) -> dict[str, str]:
        return {
            **self.cli_env(),
            # two cores: one gunicorn worker is plenty for a local UI
            "AIRFLOW__WEBSERVER__WORKERS": "1",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        }

    def _airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            env={**os.environ, **self.cli_env()},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def ensure_db(self) -> None:
        """Create or upgrade the metadata DB (once per Airflow version; `airflow db migrate` is idempotent).
        Needs no running webserver: `airflow dags test` and friends work right after it."""
        import airflow

        stamp = self.home / f".migrated-{airflow.__version__}"
        if stamp.exists() and self.db_file.exists():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        self.dags_folder.mkdir(parents=True, exist_ok=True)
        proc = self._airflow("-m", "airflow", "db", "migrate")
        if proc.returncode != 0:
            raise ServiceError(
                f"airflow: `airflow db migrate` in {self.home} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            )
        stamp.touch()

    def ensure_admin(self) -> str:
        """The admin user's password, creating the user (or resetting its password) when none is on file."""
        known = self.admin_password()
        if known:
            return known
        alphabet = "".join(c for c in string.ascii_letters + string.digits if c not in "ijlIJL1oO0")
        password = "".join(secrets.choice(alphabet) for _ in range(16))
        proc = self._airflow("-c", _ADMIN_SCRIPT, ADMIN_USER, password)
        if proc.returncode != 0:
            raise ServiceError(f"airflow: creating the user {ADMIN_USER!r} failed:\n{proc.stderr[-2000:]}")
        self.password_file.write_text(password)
        self.password_file.chmod(0o600)
        return password

    def prepare(self) -> None:
        self.ensure_db()
        password = self.ensure_admin()
        with open(self.log_file, "a") as log:
            log.write(f"\nAirflow UI {self.cfg.url('airflow')} user {ADMIN_USER} password {password}\n")

    def command(self) -> list[str]:
        return [sys.executable, "-m", "devstack.services.airflow"]

    def ready(self) -> bool:
        resp = requests.get(f"{self.cfg.url('airflow')}/health", timeout=3)
        if resp.status_code != 200:
            return False
        health = resp.json()
        # the scheduler too, so a DAG triggered right after `up` runs
        return all(health.get(part, {}).get("status") == "healthy" for part in ("metadatabase", "scheduler"))


def _pump(name: str, stream: IO[bytes], lock: threading.Lock) -> None:
    prefix = f"{name:<9} | ".encode()
    for line in stream:
        with lock:
            sys.stdout.buffer.write(prefix + line)
            sys.stdout.buffer.flush()


def supervise() -> int:
    """Run the Airflow components until a signal arrives or one of them exits; then stop the others."""
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    lock = threading.Lock()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for name, args in COMPONENTS.items():
        proc = subprocess.Popen(
            [sys.executable, "-m", "airflow", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert proc.stdout is not None
        threading.Thread(target=_pump, args=(name, proc.stdout, lock), daemon=True).start()
        procs[name] = proc
    code = 0
    while not stopping.wait(0.5):
        exited = {name: p.returncode for name, p in procs.items() if p.poll() is not None}
        if exited:
            print(f"airflow: {', '.join(f'{n} exited ({c})' for n, c in exited.items())}; stopping", flush=True)
            code = 1
            break
    for p in procs.values():
        if p.poll() is None:
            p.terminate()
    for p in procs.values():
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
    return code


if __name__ == "__main__":  # started by Airflow.start(), under env()
    sys.exit(supervise())
