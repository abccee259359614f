"""Where devstack keeps its installs and state, and which ports its services listen on.

Everything lives under one git-ignored folder (default `<repo>/.devstack`, or `$DEVSTACK_HOME`):
`install/` caches what was downloaded or built (elsewhere with `$DEVSTACK_INSTALL`: the test suite's own devstack
shares the checkout's cache), `run/<service>/` holds each service's PID file, log and data.
A port is overridden with `DEVSTACK_PORT_<SERVICE>` (e.g. `DEVSTACK_PORT_KAFKA=19092`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

#: Default ports: a block of its own so they clash neither with the Docker stack nor with common dev servers.
DEFAULT_PORTS: dict[str, int] = {
    "moto": 15000,  # S3 (the s3 service): the port keeps the name of the server it replaced
    "dynamodb": 15001,
    "gcs": 15010,
    "firestore": 15020,
    "ferretdb": 15030,
    "kafka": 15040,
    "kafka_controller": 15041,
    "registry": 15050,
    "connect": 15060,
    "airflow": 15070,
}


class ConfigError(ValueError):
    pass


def _port_from_env(name: str, default: int) -> int:
    var = f"DEVSTACK_PORT_{name.upper()}"
    raw = os.environ.get(var)
    if raw is None:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"{var}={raw!r}: not a port number") from None
    if not 1024 <= port <= 65535:
        raise ConfigError(f"{var}={port}: use a port between 1024 and 65535")
    return port


@dataclass(frozen=True)
class DevstackConfig:
    home: Path
    ports: dict[str, int] = field(default_factory=dict)
    host: str = HOST
    install: Path | None = None  # default: home / "install"

    @classmethod
    def from_env(cls) -> DevstackConfig:
        home = Path(os.environ.get("DEVSTACK_HOME", REPO_ROOT / ".devstack")).resolve()
        ports = {name: _port_from_env(name, default) for name, default in DEFAULT_PORTS.items()}
        clashes = {p for p in ports.values() if list(ports.values()).count(p) > 1}
        if clashes:
            raise ConfigError(f"devstack ports clash: {sorted(clashes)} used twice; check DEVSTACK_PORT_* variables")
        install = os.environ.get("DEVSTACK_INSTALL")
        return cls(home=home, ports=ports, install=Path(install).resolve() if install else None)

    @property
    def install_dir(self) -> Path:
        return self.install or self.home / "install"

    def run_dir(self, service: str) -> Path:
        return self.home / "run" / service

    def port(self, name: str) -> int:
        return self.ports[name]

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"
