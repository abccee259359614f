"""devstack's services: state, pid, ports, memory of the process group and what each keeps on disk (read from
devstack's PID files and /proc; no server is asked anything)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from devstack import services as registry
from devstack.config import DevstackConfig
from devstack.inspect import usage
from devstack.service import Service


def section(cfg: DevstackConfig) -> dict[str, Any]:
    try:
        rows = [row(registry.make(name, cfg)) for name in registry.processes()]
    except Exception as exc:  # a broken PID file or an unreadable run dir: one line, the rest still shows
        return {"error": f"devstack: {type(exc).__name__}: {exc} (home {cfg.home})"}
    return {"error": None, "home": str(cfg.home), "services": rows}


def row(service: Service) -> dict[str, Any]:
    used = usage(service)
    return {
        "name": service.name,
        "running": used.pid is not None,
        "ports": {key: service.cfg.port(key) for key in service.port_names},
        **asdict(used),
    }
