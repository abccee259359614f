"""Install, start, stop and report a set of devstack services, in dependency order."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from devstack import services as registry
from devstack.config import DevstackConfig
from devstack.outputs import write_outputs
from devstack.service import Service

Report = Callable[[str], None]


@dataclass
class ServiceStatus:
    name: str
    running: bool
    pid: int | None
    ports: str
    installed: bool
    description: str


class Platform:
    def __init__(self, cfg: DevstackConfig | None = None) -> None:
        self.cfg = cfg or DevstackConfig.from_env()

    def services(self, names: list[str] | None = None, with_deps: bool = True) -> list[Service]:
        chosen = names or list(registry.SERVICES)
        ordered = registry.with_dependencies(chosen) if with_deps else [n for n in registry.SERVICES if n in chosen]
        return [registry.make(n, self.cfg) for n in ordered]

    def install(self, names: list[str] | None = None, report: Report = print) -> None:
        for svc in self.services(names):
            if svc.is_installed():
                continue
            report(f"installing {svc.name} ({svc.description}) ...")
            t0 = time.monotonic()
            svc.install()
            report(f"installed {svc.name} in {time.monotonic() - t0:.1f}s")

    def up(self, names: list[str] | None = None, report: Report = print) -> list[str]:
        """Start what is not running yet; returns the names this call started."""
        self.install(names, report)
        started: list[str] = []
        for svc in self.services(names):
            if svc.is_running():
                report(f"{svc.name}: already running (pid {svc.pid()})")
                continue
            t0 = time.monotonic()
            report(f"{svc.name}: starting on {svc.ports_text()} ...")
            svc.start()
            started.append(svc.name)
            report(f"{svc.name}: ready in {time.monotonic() - t0:.1f}s")
        for svc in self.services(names):
            svc.provision()
        path = write_outputs(self.cfg)
        report(f"outputs in {path} (the `devstack` stack reads them)")
        return started

    def down(self, names: list[str] | None = None, report: Report = print) -> list[str]:
        stopped: list[str] = []
        # reverse start order, and without pulling in dependencies: `down kafka` must not stop moto
        for svc in reversed(self.services(names, with_deps=False)):
            if svc.stop():
                stopped.append(svc.name)
                report(f"{svc.name}: stopped")
        return stopped

    def status(self) -> list[ServiceStatus]:
        return [
            ServiceStatus(s.name, s.is_running(), s.pid(), s.ports_text(), s.is_installed(), s.description)
            for s in self.services()
        ]

    def running(self) -> set[str]:
        return {s.name for s in self.services() if s.is_running()}
