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
        self.started += self.platform.up(list(names), report=lambda msg: None)
        return build_outputs(self.platform.cfg)

    def service(self, name: str) -> Service:
        """One service of this session's devstack, to kill -9 (`kill()`), pause or start again in a fault test."""
        return registry.make(name, self.platform.cfg)

    def teardown(self) -> None:
        # DEVSTACK_KEEP=1 leaves services running for the next local test run
        if self.started and os.environ.get("DEVSTACK_KEEP") != "1":
            self.platform.down(self.started, report=lambda msg: None)
        self.started = []
