"""The Docker stacks' Connect worker takes HTTP basic auth only: a login generated once into the state, the
worker's container writing its JAAS and users files from it, the outputs publishing it as a secret."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from components.generated_secrets import GeneratedSecretsProvider
from components.streaming import BASIC_AUTH_EXTENSION, CONNECT_REST_USER, connect_worker_env
from tests.unit._stack_runs import stack_run

REST_AUTH = Path(__file__).resolve().parents[2] / "containers" / "connect" / "rest-auth.sh"


def test_generated_secrets_are_made_once_and_only_missing_ones_are_added() -> None:
    provider = GeneratedSecretsProvider("login", {"password": "long_password", "key": "fernet_key"})
    created = provider.create({"password": "", "key": ""}).outs or {}
    assert len(created["password"]) >= 32 and created["key"] != created["password"]
    assert provider.create({}).outs != created  # a new install gets new values
    assert not provider.diff("login", created, {"password": "", "key": ""}).changes
    older_state = {"password": created["password"]}
    assert provider.diff("login", older_state, {}).changes
    updated = provider.update("login", older_state, {}).outs or {}
    assert updated["password"] == created["password"] and updated["key"]


def test_an_unknown_secret_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown secret kind"):
        GeneratedSecretsProvider("x", {"password": "pasword"})


def test_the_worker_loads_the_basic_auth_extension() -> None:
    assert connect_worker_env("kde-local")["CONNECT_REST_EXTENSION_CLASSES"] == BASIC_AUTH_EXTENSION


@pytest.mark.parametrize("stack", ["dev", "local"])
def test_the_login_is_generated_and_published_as_a_secret(stack: str) -> None:
    run = stack_run(stack)
    assert len(run.of_type("pulumi-python:dynamic/connect:RestLogin")) == 1
    assert "kafka_connect_auth" in run.secret_outputs
    assert run.raw_outputs["kafka_connect_auth"]["username"] == CONNECT_REST_USER
    connector = run.of_type("pulumi-python:dynamic/kafka-connect:Connector")[0]
    assert connector.inputs["connect_auth"] == "[secret]"


def test_the_entrypoint_writes_private_login_files_and_starts_the_worker(tmp_path: Path) -> None:
    auth_dir, worker = tmp_path / "auth", tmp_path / "run"
    auth_dir.mkdir()
    # stands in for the image's own start script: reports what the worker would be started with
    worker.write_text(
        '#!/usr/bin/env bash\necho "KAFKA_OPTS=$KAFKA_OPTS"\necho "PASSWORD=${KDE_CONNECT_REST_PASSWORD-unset}"\n'
    )
    worker.chmod(0o755)
    env = {
        "PATH": os.environ["PATH"],
        "KDE_CONNECT_AUTH_DIR": str(auth_dir),
        "KDE_CONNECT_RUN": str(worker),
        "KDE_CONNECT_REST_USER": "kde",
        "KDE_CONNECT_REST_PASSWORD": "s3cr3t-pw",
    }
    out = subprocess.run(["bash", str(REST_AUTH)], env=env, capture_output=True, text=True, check=True).stdout
    jaas = auth_dir / "rest-jaas.conf"
    assert f"-Djava.security.auth.login.config={jaas}" in out
    assert "PASSWORD=unset" in out  # the worker's own environment no longer holds it
    assert (auth_dir / "rest-users.properties").read_text() == "kde: s3cr3t-pw\n"
    assert "PropertyFileLoginModule required" in jaas.read_text()
    assert f'file="{auth_dir}/rest-users.properties"' in jaas.read_text()
    assert (auth_dir / "netrc").read_text() == "machine localhost login kde password s3cr3t-pw\n"
    for name in ("rest-users.properties", "netrc", "rest-jaas.conf"):
        assert stat.S_IMODE((auth_dir / name).stat().st_mode) == 0o600, name


def test_the_entrypoint_refuses_to_start_without_a_login(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "KDE_CONNECT_AUTH_DIR": str(tmp_path), "KDE_CONNECT_RUN": "/bin/true"}
    result = subprocess.run(["bash", str(REST_AUTH)], env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "Connect REST user" in result.stderr
    assert not list(tmp_path.iterdir())
