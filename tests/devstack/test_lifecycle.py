"""devstack's lifecycle on a private home and port (s3, the cheapest service): `up` twice starts once,
`down` leaves no process behind, and a taken port fails with an error that names it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import process
from devstack.config import DEFAULT_PORTS, DevstackConfig
from devstack.platform import Platform
from devstack.process import free_port
from devstack.service import ServiceError

pytestmark = pytest.mark.devstack


@pytest.fixture
def private_platform(tmp_path: Path) -> Iterator[Platform]:
    ports = {name: free_port() for name in DEFAULT_PORTS}
    platform = Platform(DevstackConfig(home=tmp_path / "devstack", ports=ports))
    yield platform
    platform.down(report=lambda _: None)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_up_twice_starts_once_and_down_leaves_nothing(private_platform: Platform) -> None:
    assert private_platform.up(["s3"], report=lambda _: None) == ["s3"]
    s3 = private_platform.services(["s3"])[0]
    pid = s3.pid()
    assert pid is not None and process.pid_alive(pid)

    assert private_platform.up(["s3"], report=lambda _: None) == []
    assert s3.pid() == pid

    assert private_platform.down(["s3"], report=lambda _: None) == ["s3"]
    assert not process.pid_alive(pid)
    assert not _group_alive(pid)  # started as its own session: the group id is the pid
    assert not s3.pid_file.exists()
    assert process.port_is_free(private_platform.cfg.host, s3.port)
    assert private_platform.down(["s3"], report=lambda _: None) == []


def test_a_taken_port_is_named_in_the_error(private_platform: Platform) -> None:
    s3 = private_platform.services(["s3"])[0]
    with socket.socket() as squatter:
        squatter.bind((private_platform.cfg.host, s3.port))
        squatter.listen()
        with pytest.raises(ServiceError) as error:
            private_platform.up(["s3"], report=lambda _: None)
    message = str(error.value)
    assert str(s3.port) in message
    assert "DEVSTACK_PORT_MOTO" in message
    assert s3.pid() is None
