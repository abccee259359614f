"""The shape every devstack service has: install once (cached), start detached, prove readiness, stop."""

from __future__ import annotations

import contextlib
import os
import signal
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from devstack import process
from devstack.config import DevstackConfig


class ServiceError(RuntimeError):
    """A service failed to install or start; the message names the service, port or file at fault."""


class Service(ABC):
    name: ClassVar[str]
    #: keys of DevstackConfig.ports this service binds (checked free before start)
    port_names: ClassVar[tuple[str, ...]] = ()
    #: services that must be ready before this one starts
    depends_on: ClassVar[tuple[str, ...]] = ()
    #: how long a start may take before it counts as hung (a process that dies ends the wait at once);
    #: DEVSTACK_START_TIMEOUT_FACTOR stretches every service's, e.g. on a machine busy with other work
    start_timeout: ClassVar[float] = 90.0
    description: ClassVar[str] = ""

    def __init__(self, cfg: DevstackConfig) -> None:
        self.cfg = cfg

    # --- paths -------------------------------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return self.cfg.run_dir(self.name)

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "service.log"

    @property
    def install_dir(self) -> Path:
        return self.cfg.install_dir / self.name

    @property
    def port(self) -> int:
        return self.cfg.port(self.port_names[0])

    # --- what each service defines -----------------------------------------------------------------
    @abstractmethod
    def is_installed(self) -> bool: ...

    @abstractmethod
    def install(self) -> None:
        """Download/build into install_dir. Must be idempotent and leave nothing half-installed."""

    @abstractmethod
    def command(self) -> list[str]: ...

    def env(self) -> dict[str, str]:
        return {}

    def prepare(self) -> None:
        """One-off work before each start (write config files, format storage, migrate a DB)."""
        return None

    @abstractmethod
    def ready(self) -> bool:
        """True once the service answers a real request (a round trip, a REST 200, a ping)."""

    def published(self) -> dict[str, Any]:
        """The service's own connection facts, under the substrate keys of contract.outputs (e.g. Kafka:
        `kafka_bootstrap_servers`); devstack's outputs are assembled from these and nothing else."""
        return {}

    def data_paths(self) -> list[Path]:
        """What holds the data this service keeps across restarts: what `python -m devstack reset` deletes.
        Logs, PID files, generated logins and config stay."""
        return [self.data_dir]

    def provision(self) -> None:
        """Idempotent setup of what the service holds for the emulated account (buckets, tables), after start
        and on every `up` (in-memory emulators forget it on restart)."""
        return None

    # --- lifecycle ---------------------------------------------------------------------------------
    def pid(self) -> int | None:
        return process.read_pid(self.pid_file)

    def is_running(self) -> bool:
        return self.pid() is not None

    def check_ports_free(self) -> None:
        for key in self.port_names:
            port = self.cfg.port(key)
            if not process.port_is_free(self.cfg.host, port):
                raise ServiceError(
                    f"{self.name}: port {port} on {self.cfg.host} is already in use by another program; "
                    f"free it or choose another with DEVSTACK_PORT_{key.upper()}=<port>"
                )

    def start(self) -> None:
        if self.is_running():
            return
        timeout = self.start_timeout * start_timeout_factor()
        self.check_ports_free()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.prepare()
        pid = process.start_detached(self.command(), pid_file=self.pid_file, log_file=self.log_file, env=self.env())
        if not process.wait_until(self.ready, timeout, alive=lambda: process.pid_alive(pid)):
            died = not process.pid_alive(pid)
            self.stop()
            reason = "exited" if died else f"was not ready after {timeout:.0f}s (DEVSTACK_START_TIMEOUT_FACTOR)"
            raise ServiceError(
                f"{self.name} {reason} (ports {self.ports_text()}; log {self.log_file}). Last log lines:\n"
                f"{process.tail(self.log_file)}"
            )

    def stop(self) -> bool:
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        process.stop_pid(pid)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> bool:
        """SIGKILL the service's whole process group at once, as a crash would: no shutdown hook runs, its data
        stays as the kill left it, and `start()` brings it back on the same data (the fault suite's crash)."""
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            pgid = os.getpgid(pid)
            os.killpg(pgid, signal.SIGKILL)
            # every process of the group, not only its leader: a child still exiting holds the service's port, and
            # the `start()` that follows a crash would find it taken
            process.wait_until(lambda: not process.group_alive(pgid), timeout=10, interval=0.1)
        self.pid_file.unlink(missing_ok=True)
        return True

    def pause(self, paused: bool = True) -> None:
        """SIGSTOP (or SIGCONT) the process group: the service keeps its connections but answers nothing."""
        pid = self.pid()
        if pid is not None:
            os.killpg(os.getpgid(pid), signal.SIGSTOP if paused else signal.SIGCONT)

    def ports_text(self) -> str:
        return ", ".join(f"{k}={self.cfg.port(k)}" for k in self.port_names)


def start_timeout_factor() -> float:
    raw = os.environ.get("DEVSTACK_START_TIMEOUT_FACTOR", "1")
    try:
        factor = float(raw)
    except ValueError:
        raise ServiceError(f"DEVSTACK_START_TIMEOUT_FACTOR={raw!r}: not a number (e.g. 3)") from None
    if not factor > 0:
        raise ServiceError(f"DEVSTACK_START_TIMEOUT_FACTOR={raw!r}: must be above 0")
    return factor
