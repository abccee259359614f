"""moto server: S3 and DynamoDB on one port."""

from __future__ import annotations

import importlib.util
import sys

import requests

from devstack.service import Service, ServiceError


class Moto(Service):
    name = "moto"
    port_names = ("moto",)
    description = "S3 + DynamoDB (moto server)"
    start_timeout = 60.0

    def is_installed(self) -> bool:
        return importlib.util.find_spec("moto.server") is not None

    def install(self) -> None:
        if not self.is_installed():
            raise ServiceError("moto: the moto[server] package is missing; run `make setup` (extra 'devstack')")

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", self.cfg.host, "-p", str(self.port)]

    def ready(self) -> bool:
        return requests.get(f"http://{self.cfg.host}:{self.port}/moto-api/data.json", timeout=2).status_code == 200
