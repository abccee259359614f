"""The demo's DAG runs in one Airflow process (demo.dag_session), on devstack's real Airflow: every run gets the
exit code `airflow dags test` would give and its own log, a failed run leaves the process serving the next, and
closing it leaves no process behind."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import psutil
import pytest

from demo.airflow import DagSession
from demo.dag_session import exit_code

DAGS = """
import os
import pendulum
from airflow.sdk import dag, task

START = pendulum.datetime(2026, 1, 1, tz="UTC")


@dag(dag_id="session_ok", schedule=None, start_date=START, catchup=False)
def ok():
    @task
    def write(path: str) -> None:
        from pathlib import Path
        with Path(path).open("a") as out:
            out.write(f"{{os.getpid()}}\\n")
        print("session_ok wrote its pid")

    write({path!r})


@dag(dag_id="session_fails", schedule=None, start_date=START, catchup=False)
def fails():
    @task
    def boom() -> None:
        raise ValueError("session_fails failed on purpose")

    boom()


ok()
fails()
"""


@pytest.mark.devstack
def test_runs_share_one_process_and_keep_their_own_codes_and_logs(devstack: Any, tmp_path: Path) -> None:
    from devstack.config import DevstackConfig
    from devstack.services.airflow import Airflow

    devstack("airflow")
    pids, dags = tmp_path / "pids.txt", tmp_path / "dags"
    dags.mkdir()
    (dags / "session.py").write_text(textwrap.dedent(DAGS.format(path=str(pids))))
    airflow = Airflow(DevstackConfig.from_env())
    airflow.ensure_db()
    env = {**os.environ, **airflow.cli_env(), "AIRFLOW__CORE__DAGS_FOLDER": str(dags)}

    with DagSession(env) as session:
        codes = [session.run(dag_id, tmp_path / f"{n}-{dag_id}.log") for n, dag_id in
                 enumerate(["session_ok", "session_fails", "session_ok"])]  # fmt: skip
        assert session.proc is not None
        server = session.proc.pid

    assert codes == [0, 1, 0]
    assert pids.read_text().split() == [str(server), str(server)], "both runs in the session's one process"
    assert "session_ok wrote its pid" in (tmp_path / "0-session_ok.log").read_text()
    failed = (tmp_path / "1-session_fails.log").read_text()
    assert "session_fails failed on purpose" in failed
    assert "session_fails failed on purpose" not in (tmp_path / "2-session_ok.log").read_text()
    assert not psutil.pid_exists(server) or psutil.Process(server).status() == psutil.STATUS_ZOMBIE


def test_a_session_whose_process_dies_answers_its_exit_code_and_starts_again(tmp_path: Path) -> None:
    dies = [sys.executable, "-c", "import sys; sys.stdin.readline(); sys.exit(3)"]
    with DagSession(dict(os.environ), command=dies) as session:
        assert session.run("any_dag", tmp_path / "a.log") == 3
        assert session.proc is None
        assert session.run("any_dag", tmp_path / "b.log") == 3


def test_exit_codes_are_the_clis() -> None:
    assert exit_code(SystemExit("DagRun failed")) == 1
    assert exit_code(SystemExit(3)) == 3
    assert exit_code(SystemExit(None)) == 0
