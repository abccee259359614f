"""pytest support: bring up exactly the services a test needs, once per session, and stop what we started.

Use through the `devstack` fixture in tests/conftest.py:

    def test_roundtrip(devstack):
        substrate = devstack("moto", "ferretdb")   # starts them (and their dependencies) if not running
"""

from __future__ import annotations

import os
from typing import Any

from devstack import services as registry
from devstack.config import DevstackConfig
from devstack.outputs import build_outputs
from devstack.platform import Platform
from devstack.service import Service


class SessionServices:
    def __init__(self, cfg: DevstackConfig | None = None) -> None:
        self.platform = Platform(cfg)
        self.started: list[str] = []

    def __call__(self, *names: str) -> dict[str, Any]:
        """Start `names` (and what they need); the substrate's outputs (contract.outputs.SUBSTRATE_KEYS)."""
        running = self.platform.running()
        try:
            self.started += self.platform.up(list(names), report=lambda msg: None)
        except BaseException:
            # `up` returns nothing when one service fails, though others of the call are running by then:
            # those are this session's too, and its teardown stops them
            self.started += sorted(self.platform.running() - running - set(self.started))
            raise
        return build_outputs(self.platform.cfg)

    def service(self, name: str) -> Service:
        """One service of this session's devstack, to kill -9 (`kill()`), pause or start again in a fault test."""
        return registry.make(name, self.platform.cfg)

    def running_pids(self) -> set[int]:
        """The pids of this devstack's services that are running: after `teardown`, those it leaves on purpose
        (DEVSTACK_KEEP=1, or running before the session, e.g. brought back after a fault test killed one)."""
        return {pid for svc in self.platform.services() if (pid := svc.pid()) is not None}

    def teardown(self) -> None:
        # DEVSTACK_KEEP=1 leaves services running for the next local test run
        if self.started and os.environ.get("DEVSTACK_KEEP") != "1":
            self.platform.down(self.started, report=lambda msg: None)
        self.started = []
