"""Install, start, stop and report a set of devstack services, in dependency order."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from devstack import services as registry
from devstack.config import DevstackConfig
from devstack.outputs import warehouse_file, write_outputs
from devstack.service import Service

Report = Callable[[str], None]

#: installs at once: enough to overlap one toolchain's downloads with another's build on a 2-core machine
INSTALL_WORKERS = 4


@dataclass
class ServiceStatus:
    name: str
    running: bool
    pid: int | None
    ports: str
    installed: bool
    description: str


@dataclass
class DataHeld:
    """What `reset` would delete of one service: its data paths that exist, and their size on disk."""

    service: str
    paths: list[Path]
    size_bytes: int


def disk_usage(path: Path) -> int:
    """Bytes under `path` (a file or a folder; 0 when it does not exist)."""
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


class Platform:
    def __init__(self, cfg: DevstackConfig | None = None) -> None:
        self.cfg = cfg or DevstackConfig.from_env()

    def services(self, names: list[str] | None = None, with_deps: bool = True) -> list[Service]:
        chosen = registry.expand(names) if names else registry.processes()
        ordered = registry.with_dependencies(chosen) if with_deps else chosen
        return [registry.make(n, self.cfg) for n in ordered]

    def install(self, names: list[str] | None = None, report: Report = print) -> None:
        """Install what is missing, a few services at once: a cold install is mostly downloads (Go modules, Maven
        jars, npm packages) that overlap well with another service's build. Maven runs one at a time (_jvm)."""
        pending = [svc for svc in self.services(names) if not svc.is_installed()]
        if not pending:
            return
        t0 = time.monotonic()

        def install(svc: Service) -> None:
            report(f"installing {svc.name} ({svc.description}) ...")
            started = time.monotonic()
            try:
                svc.install()
            except Exception as exc:  # said now; raised when the others have finished (their downloads stay cached)
                what = (str(exc).splitlines() or [type(exc).__name__])[0]
                what = what if what.startswith(f"{svc.name}:") else f"{svc.name}: {what}"
                report(f"install failed after {time.monotonic() - started:.1f}s: {what}")
                raise
            report(f"installed {svc.name} in {time.monotonic() - started:.1f}s")

        with ThreadPoolExecutor(max_workers=INSTALL_WORKERS, thread_name_prefix="devstack-install") as pool:
            futures = [pool.submit(install, svc) for svc in pending]
            wait(futures)
        errors = [error for future in futures if (error := future.exception()) is not None]
        if errors:
            raise errors[0]  # the first in start order, after every other install has settled
        report(f"installed {len(pending)} service(s) in {time.monotonic() - t0:.1f}s")

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

    def data_held(self, names: list[str] | None = None) -> list[DataHeld]:
        """Each named service's data on disk (every service when `names` is empty), without dependencies."""
        held = []
        for svc in self.services(names, with_deps=False):
            paths = [p for p in svc.data_paths() if p.exists()]
            held.append(DataHeld(svc.name, paths, sum(disk_usage(p) for p in paths)))
        if not names:  # the DuckDB warehouse is no service's: it is built from the lake, and goes with all of it
            folder = warehouse_file(self.cfg).parent
            paths = [folder] if folder.exists() else []
            held.append(DataHeld("warehouse", paths, sum(disk_usage(p) for p in paths)))
        return held

    def reset(self, names: list[str] | None = None, report: Report = print) -> list[DataHeld]:
        """Stop the named services (every service when `names` is empty) and delete the data they keep; the next
        `up` starts them empty. Returns what was deleted."""
        self.down(names, report)
        held = self.data_held(names)
        for entry in held:
            for path in entry.paths:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
            if entry.paths:
                report(f"{entry.service}: deleted {', '.join(str(p) for p in entry.paths)}")
        return held

    def status(self) -> list[ServiceStatus]:
        return [
            ServiceStatus(s.name, s.is_running(), s.pid(), s.ports_text(), s.is_installed(), s.description)
            for s in self.services()
        ]

    def running(self) -> set[str]:
        return {s.name for s in self.services() if s.is_running()}
