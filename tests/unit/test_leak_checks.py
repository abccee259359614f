"""The session-end check of tests/conftest.py: a Kafka client a test leaves open fails the run, naming where it was
created; clients closed, or freed as their last reference goes, do not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
LEAKY = HERE / "_leaves_a_kafka_client.py"
CREATED_AT = "Producer created at tests/unit/_leaves_a_kafka_client.py:"


def session(leak: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(LEAKY)]
    env = {**os.environ, "KAFKA_CLIENT_LEAK": leak}
    return subprocess.run(command, cwd=HERE.parents[1], env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("leak", "found"),
    [
        ("kept", f"{CREATED_AT}32 (test_opens_kafka_clients): still open"),
        ("cycle", f"{CREATED_AT}22 (__init__): freed only by the garbage collector"),
    ],
)
def test_a_kafka_client_left_open_fails_the_session(leak: str, found: str) -> None:
    run = session(leak)
    assert run.returncode == 1, run.stdout
    assert "1 Kafka client(s) the suite opened were not closed" in run.stdout, run.stdout
    assert found in run.stdout, run.stdout


def test_clients_closed_or_freed_at_once_pass() -> None:
    run = session("none")
    assert run.returncode == 0, run.stdout
