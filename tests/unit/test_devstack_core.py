from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest

from devstack import process
from devstack.config import DEFAULT_PORTS, ConfigError, DevstackConfig
from devstack.services import UnknownServiceError, with_dependencies


def test_port_override_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in DEFAULT_PORTS:  # a developer's own overrides must not decide this test
        monkeypatch.delenv(f"DEVSTACK_PORT_{name.upper()}", raising=False)
    monkeypatch.setenv("DEVSTACK_PORT_KAFKA", "abc")
    with pytest.raises(ConfigError, match="DEVSTACK_PORT_KAFKA='abc'"):
        DevstackConfig.from_env()
    monkeypatch.setenv("DEVSTACK_PORT_KAFKA", "15000")  # moto's default
    with pytest.raises(ConfigError, match="clash"):
        DevstackConfig.from_env()


def test_default_ports_are_distinct_and_on_loopback() -> None:
    cfg = DevstackConfig.from_env()
    assert len(set(cfg.ports.values())) == len(cfg.ports)
    assert cfg.host == "127.0.0.1"


def test_unknown_service_lists_the_known_ones() -> None:
    with pytest.raises(UnknownServiceError, match="known services: s3, dynamodb, moto"):
        with_dependencies(["kafak"])


def test_the_old_name_moto_stands_for_its_two_services_everywhere(tmp_path: Path) -> None:
    from devstack.platform import Platform

    assert with_dependencies(["moto"]) == ["s3", "dynamodb"]
    # the worker's dependency on S3 pulls in S3, and no group appears in a start order
    assert with_dependencies(["connect"]) == ["s3", "kafka", "connect"]
    platform = Platform(DevstackConfig(home=tmp_path, ports=dict(DEFAULT_PORTS)))
    assert [s.name for s in platform.services(["moto", "kafka"], with_deps=False)] == ["s3", "dynamodb", "kafka"]
    # `down`, `status` and `reset` of everything act on each process once: the group is not one of them
    assert "moto" not in [s.name for s in platform.services()]
    data = {held.service: held for held in platform.data_held(["moto"])}
    assert set(data) == {"s3", "dynamodb"}


def test_the_warehouse_goes_with_a_whole_reset_only(tmp_path: Path) -> None:
    from devstack.outputs import warehouse_file
    from devstack.platform import Platform

    platform = Platform(DevstackConfig(home=tmp_path, ports=dict(DEFAULT_PORTS)))
    database = warehouse_file(platform.cfg)
    database.parent.mkdir(parents=True)
    database.write_bytes(b"duckdb")
    platform.reset(["ferretdb"], report=lambda _: None)
    assert database.exists()
    held = {entry.service: entry for entry in platform.data_held()}
    assert held["warehouse"].paths == [database.parent] and held["warehouse"].size_bytes > 0
    platform.reset(report=lambda _: None)
    assert not database.parent.exists()


def test_port_in_use_is_detected() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not process.port_is_free("127.0.0.1", port)
        assert process.port_accepts("127.0.0.1", port)


def test_detached_process_and_its_children_are_stopped(tmp_path: Path) -> None:
    # a parent that spawns a child which would outlive it: stop_pid must end the whole group
    script = (
        "import subprocess,sys,time; "
        "subprocess.Popen([sys.executable,'-c','import time; time.sleep(60)']); time.sleep(60)"
    )
    pid = process.start_detached([sys.executable, "-c", script], pid_file=tmp_path / "pid", log_file=tmp_path / "log")
    assert process.read_pid(tmp_path / "pid") == pid
    time.sleep(0.5)
    import os

    pgid = os.getpgid(pid)
    process.stop_pid(pid, timeout=5)
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)
    assert process.read_pid(tmp_path / "pid") is None


class NeverReady:
    """A service whose process runs but never answers: its start must give up after its stretched timeout."""

    @staticmethod
    def make(cfg: DevstackConfig) -> object:
        from devstack.service import Service

        class Sleeper(Service):
            name = "sleeper"
            start_timeout = 0.5

            def is_installed(self) -> bool:
                return True

            def install(self) -> None:
                pass

            def command(self) -> list[str]:
                return [sys.executable, "-c", "import time; time.sleep(60)"]

            def ready(self) -> bool:
                return False

        return Sleeper(cfg)


def test_a_hung_start_gives_up_after_the_timeout_stretched_by_the_factor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devstack.service import ServiceError

    service = NeverReady.make(DevstackConfig(home=tmp_path))
    monkeypatch.setenv("DEVSTACK_START_TIMEOUT_FACTOR", "4")
    with pytest.raises(ServiceError, match=r"sleeper was not ready after 2s \(DEVSTACK_START_TIMEOUT_FACTOR\)"):
        service.start()  # type: ignore[attr-defined]
    assert not service.is_running()  # type: ignore[attr-defined]
    monkeypatch.setenv("DEVSTACK_START_TIMEOUT_FACTOR", "fast")
    with pytest.raises(ServiceError, match="DEVSTACK_START_TIMEOUT_FACTOR='fast': not a number"):
        service.start()  # type: ignore[attr-defined]
