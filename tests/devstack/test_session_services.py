"""The test session's devstack (devstack.testing.SessionServices) owns every service it started, also those of a
call that failed halfway: its teardown stops them, so no server outlives the session."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from devstack.config import DevstackConfig
from devstack.service import ServiceError
from devstack.testing import SessionServices

pytestmark = pytest.mark.devstack


def test_a_failing_up_leaves_what_it_started_to_the_teardown(
    devstack: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEVSTACK_KEEP", raising=False)  # this session's own choice must not keep the test's s3
    install = devstack.service("s3").cfg.install_dir
    with socket.socket() as taken, socket.socket() as free:
        taken.bind(("127.0.0.1", 0))
        taken.listen()  # firestore's port is busy: its start fails while s3's succeeds
        free.bind(("127.0.0.1", 0))
        ports = {"moto": free.getsockname()[1], "firestore": taken.getsockname()[1]}
        free.close()
        services = SessionServices(DevstackConfig(home=tmp_path, ports=ports, install=install))
        s3 = services.service("s3")
        try:
            with pytest.raises(ServiceError, match=f"firestore: port {ports['firestore']}"):
                services("s3", "firestore")
            pid = s3.pid()
            assert pid is not None and services.started == ["s3"]
            services.teardown()
            assert not _alive(pid)
        finally:
            s3.stop()  # whatever failed above: nothing outlives the test


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
