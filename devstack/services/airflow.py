"""Apache Airflow 3: api-server, scheduler (LocalExecutor), dag-processor and triggerer in one process group,
with a SQLite metadata DB under run/airflow/home and DAGs from the repo's pipelines/dags
(or $DEVSTACK_AIRFLOW_DAGS_FOLDER).

What runs: this module as a small supervisor (`python -m devstack.services.airflow`) that starts the four
components, prefixes their output with the component's name, and stops them all when one exits. Why not
`airflow standalone`: it prints the generated admin password, binds every interface, and its scheduler and
triggerer each start a log server on the fixed ports 8793/8794, which clash with a second Airflow and are
useless here (the api-server reads task logs from the same folder): they run with `--skip-serve-logs`.

Airflow 3 runs tasks through the api-server's execution API (task workers never open the metadata DB), so
LocalExecutor works on SQLite; one worker (`parallelism` 1) keeps the DB writers few and the memory small.

Secrets, all generated on first start and kept in 0600 files inside the 0700 home (never in a log):
- `airflow.cfg`: `[core] fernet_key` (encrypts connection passwords and variables in the DB), `[api_auth]
  jwt_secret` (the api-server signs, and every component verifies, the JWTs of the REST and execution APIs)
  and `[api] secret_key`. Every `airflow` process with AIRFLOW_HOME=home reads them; an Airflow 2 home's
  fernet key is carried over so its stored connections stay readable.
- `passwords.json`: the SimpleAuthManager's password file for the user `admin`. It exists before Airflow
  starts, so Airflow never generates (and prints) a password itself.

Clients: `Airflow(cfg).api_credentials()` gives the REST API's base URL, user and password (exchange them for
a JWT with `POST /auth/token`); `cli_env()` (after `ensure_db()`) runs the `airflow` CLI against the same
metadata DB, e.g. `airflow dags test` or `airflow dags trigger`.
"""

from __future__ import annotations

import base64
import configparser
import importlib.util
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

import requests

from devstack import process
from devstack.config import REPO_ROOT
from devstack.service import Service, ServiceError

DAGS_FOLDER_VARIABLE = "DEVSTACK_AIRFLOW_DAGS_FOLDER"
ADMIN_USER = "admin"
AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
#: the components the supervisor runs, as `airflow <args>` (host, port and workers come from env())
COMPONENTS: dict[str, list[str]] = {
    "api-server": ["api-server"],
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}
#: what /api/v2/monitor/health reports per component; all must be healthy before `ready()`
HEALTH_PARTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
#: (section, option) of airflow.cfg holding a generated secret, and where an Airflow 2 home kept it
_SECRET_OPTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("core", "fernet_key"): ("core", "fernet_key"),
    ("api_auth", "jwt_secret"): ("api_auth", "jwt_secret"),
    ("api", "secret_key"): ("webserver", "secret_key"),
}
#: Airflow 2's admin password file (written by the devstack of Airflow 2.10); removed, no longer used
_LEGACY_PASSWORD_FILE = "standalone_admin_password.txt"


def _new_fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()  # the format cryptography's Fernet expects


class Airflow(Service):
    name = "airflow"
    port_names = ("airflow",)
    description = "Airflow 3 api-server + scheduler + dag-processor + triggerer (SQLite), DAGs from pipelines/dags"
    #: four processes that each import Airflow: ~40 s on a quiet 2-core machine, minutes on a busy one
    start_timeout = 600.0

    @property
    def home(self) -> Path:
        return self.run_dir / "home"

    @property
    def db_file(self) -> Path:
        return self.home / "airflow.db"

    def data_paths(self) -> list[Path]:
        """The metadata DB (DAG runs, connections, variables) and the task logs; airflow.cfg keeps its keys."""
        return [self.db_file, self.home / "logs"]

    @property
    def config_file(self) -> Path:
        return self.home / "airflow.cfg"

    @property
    def password_file(self) -> Path:
        return self.home / "passwords.json"

    @property
    def dags_folder(self) -> Path:
        return Path(os.environ.get(DAGS_FOLDER_VARIABLE) or REPO_ROOT / "pipelines" / "dags").resolve()

    @property
    def url(self) -> str:
        return self.cfg.url("airflow")

    def is_installed(self) -> bool:
        return importlib.util.find_spec("airflow") is not None

    def install(self) -> None:
        if not self.is_installed():
            raise ServiceError("airflow: the apache-airflow package is missing; run `make setup` (extra 'airflow')")

    # --- connection facts --------------------------------------------------------------------------
    def admin_password(self) -> str | None:
        try:
            passwords = json.loads(self.password_file.read_text() or "{}")
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        password = passwords.get(ADMIN_USER) if isinstance(passwords, dict) else None
        return str(password) if password else None

    def api_credentials(self) -> dict[str, str]:
        """`{"url", "username", "password"}` of the REST API (`POST {url}/auth/token` returns a JWT for them).
        The password is created on first call, so it works before the first start too."""
        return {"url": self.url, "username": ADMIN_USER, "password": self.ensure_admin()}

    def published(self) -> dict[str, Any]:
        """The substrate keys of contract.outputs this service owns: the API's base URL and its login (secret)."""
        return {"airflow_url": self.url, "airflow_api": self.api_credentials()}

    def cli_env(self) -> dict[str, str]:
        """Variables (to add to os.environ) under which the `airflow` CLI uses this devstack's Airflow.
        No secret in them: those are in home/airflow.cfg, which Airflow reads through AIRFLOW_HOME."""
        return {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__AUTH_MANAGER": AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.password_file),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_file}",
            "AIRFLOW__API__HOST": self.cfg.host,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
        }

    def env(self) -> dict[str, str]:
        return {
            **self.cli_env(),
            # two cores: one api-server worker, one task at a time, one DAG-file parser
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__PARALLELISM": "1",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        }

    # --- state on disk -----------------------------------------------------------------------------
    def _private_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o700)

    def ensure_secrets(self) -> None:
        """airflow.cfg with the generated fernet key, JWT secret and API secret key (kept once made)."""
        self._private_home()
        old = configparser.ConfigParser(interpolation=None)
        if self.config_file.exists():
            old.read(self.config_file)
        new = configparser.ConfigParser(interpolation=None)
        for (section, option), (legacy_section, legacy_option) in _SECRET_OPTIONS.items():
            value = old.get(section, option, fallback="") or old.get(legacy_section, legacy_option, fallback="")
            if not value:
                value = _new_fernet_key() if option == "fernet_key" else secrets.token_urlsafe(32)
            if not new.has_section(section):
                new.add_section(section)
            new.set(section, option, value)
        text = io.StringIO()
        text.write("# devstack: generated secrets (0600); every other setting comes from the environment\n")
        new.write(text)
        if not self.config_file.exists() or self.config_file.read_text() != text.getvalue():
            process.write_private(self.config_file, text.getvalue())
        self.config_file.chmod(0o600)

    def ensure_admin(self) -> str:
        """The admin user's password: generated once into the SimpleAuthManager's password file."""
        known = self.admin_password()
        if known:
            self.password_file.chmod(0o600)
            return known
        self._private_home()
        password = secrets.token_urlsafe(18)
        process.write_private(self.password_file, json.dumps({ADMIN_USER: password}) + "\n")
        (self.home / _LEGACY_PASSWORD_FILE).unlink(missing_ok=True)
        return password

    def _airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            env={**os.environ, **self.cli_env()},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def ensure_db(self) -> None:
        """Create or upgrade the metadata DB (once per Airflow version; `airflow db migrate` is idempotent), with
        the secrets and the admin user in place. Needs no running api-server: `airflow dags test` and friends
        work right after it."""
        import airflow

        self.ensure_secrets()
        self.ensure_admin()
        self.dags_folder.mkdir(parents=True, exist_ok=True)
        stamp = self.home / f".migrated-{airflow.__version__}"
        if not (stamp.exists() and self.db_file.exists()):
            proc = self._airflow("-m", "airflow", "db", "migrate")
            if proc.returncode != 0:
                raise ServiceError(
                    f"airflow: `airflow db migrate` in {self.home} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
                )
            stamp.touch()
        self.db_file.chmod(0o600)

    def prepare(self) -> None:
        self.ensure_db()
        with open(self.log_file, "a") as log:
            log.write(f"\nAirflow UI and API {self.url} user {ADMIN_USER}, password in {self.password_file}\n")

    def command(self) -> list[str]:
        return [sys.executable, "-m", "devstack.services.airflow"]

    def health(self) -> dict[str, str]:
        """Each component's status from the api-server, e.g. {"scheduler": "healthy", ...}."""
        resp = requests.get(f"{self.url}/api/v2/monitor/health", timeout=3)
        resp.raise_for_status()
        body = resp.json()
        return {part: str((body.get(part) or {}).get("status")) for part in HEALTH_PARTS}

    def ready(self) -> bool:
        # every component, so a DAG triggered right after `up` is parsed, scheduled and run
        try:
            return all(status == "healthy" for status in self.health().values())
        except requests.RequestException:
            return False


def _pump(name: str, stream: IO[bytes], lock: threading.Lock) -> None:
    prefix = f"{name:<13} | ".encode()
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
