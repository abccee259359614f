"""A name for several services at once (e.g. "moto": s3 + dynamodb), for callers that still use the old name.

The group runs no process of its own: it depends on its members, so `up` starts them first; its start, stop,
kill, pause and provision act on every member, and it is running when all of them are. It binds its members'
ports and publishes what they publish, but holds no data of its own (each member names its data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from devstack.service import Service, ServiceError


class ServiceGroup(Service):
    members: ClassVar[tuple[str, ...]]
    start_timeout = 0.0

    def _members(self) -> list[Service]:
        from devstack import services  # the registry imports this module's subclasses

        return [services.make(name, self.cfg) for name in self.members]

    def is_installed(self) -> bool:
        return all(m.is_installed() for m in self._members())

    def install(self) -> None:
        for member in self._members():
            if not member.is_installed():
                member.install()

    def command(self) -> list[str]:
        raise ServiceError(f"{self.name}: a group of {', '.join(self.members)} runs no process of its own")

    def ready(self) -> bool:
        return all(m.ready() for m in self._members())

    def pid(self) -> int | None:
        return None

    def is_running(self) -> bool:
        return all(m.is_running() for m in self._members())

    def start(self) -> None:
        for member in self._members():
            member.start()

    def stop(self) -> bool:
        return any([m.stop() for m in self._members()])  # a list: every member stops, not only up to the first

    def kill(self) -> bool:
        return any([m.kill() for m in self._members()])

    def pause(self, paused: bool = True) -> None:
        for member in self._members():
            member.pause(paused)

    def data_paths(self) -> list[Path]:
        # the members name their own data: listing it here too would delete it twice in a `reset` of everything
        return []

    def published(self) -> dict[str, Any]:
        facts: dict[str, Any] = {}
        for member in self._members():
            for key, value in member.published().items():
                both = isinstance(value, dict) and isinstance(facts.get(key), dict)
                facts[key] = {**facts[key], **value} if both else value
        return facts

    def provision(self) -> None:
        for member in self._members():
            member.provision()
