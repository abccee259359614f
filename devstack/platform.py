"""Install, start, stop and report a set of devstack services, in dependency order."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
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
        """Start what is not running yet; returns the names this call started.

        Services start concurrently, each as soon as the ones it depends on are ready: their start is mostly
        waiting (JVM and Python boot, readiness polls), so `up` takes as long as its slowest chain, not the sum.
        """
        self.install(names, report)
        chosen = self.services(names)
        futures: dict[str, Future[bool]] = {}

        def start(svc: Service) -> bool:
            for dep in svc.depends_on:
                if dep in futures:
                    futures[dep].result()  # re-raises a dependency's failure: this one does not start
            if svc.is_running():
                report(f"{svc.name}: already running (pid {svc.pid()})")
                return False
            t0 = time.monotonic()
            report(f"{svc.name}: starting on {svc.ports_text()} ...")
            svc.start()
            report(f"{svc.name}: ready in {time.monotonic() - t0:.1f}s")
            return True

        with ThreadPoolExecutor(max_workers=max(1, len(chosen)), thread_name_prefix="devstack-up") as pool:
            # chosen is in dependency order, so every dependency's future exists before its dependents' tasks run
            for svc in chosen:
                futures[svc.name] = pool.submit(start, svc)
            wait(futures.values())
        for svc in chosen:  # the first failure in start order, after every other start has settled
            error = futures[svc.name].exception()
            if error is not None:
                raise error
        started = [svc.name for svc in chosen if futures[svc.name].result()]
        for svc in chosen:
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
