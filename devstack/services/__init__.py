"""The services devstack can run, in start order. Each entry: name -> "module:Class"."""

from __future__ import annotations

import importlib

from devstack.config import DevstackConfig
from devstack.service import Service

SERVICES: dict[str, str] = {
    "s3": "devstack.services.s3:S3Gateway",
    "dynamodb": "devstack.services.dynamodb:Dynalite",
    # the old name for both, until its callers say which one they need (after them: `up` starts them first)
    "moto": "devstack.services.moto:Moto",
    "gcs": "devstack.services.gcs:FakeGcs",
    "firestore": "devstack.services.firestore:FirestoreEmulator",
    "ferretdb": "devstack.services.ferretdb:FerretDB",
    "kafka": "devstack.services.kafka:KafkaBroker",
    "registry": "devstack.services.registry:SchemaRegistry",
    "connect": "devstack.services.connect:KafkaConnect",
    "airflow": "devstack.services.airflow:Airflow",
}


class UnknownServiceError(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown service {name!r}; known services: {', '.join(SERVICES)}")


def service_class(name: str) -> type[Service]:
    try:
        target = SERVICES[name]
    except KeyError:
        raise UnknownServiceError(name) from None
    module_name, class_name = target.split(":")
    cls: type[Service] = getattr(importlib.import_module(module_name), class_name)
    return cls


def make(name: str, cfg: DevstackConfig) -> Service:
    return service_class(name)(cfg)


def members(name: str) -> tuple[str, ...]:
    """The services a name stands for: a group's members (e.g. "moto": s3 and dynamodb), else the name itself."""
    group: tuple[str, ...] | None = getattr(service_class(name), "members", None)
    return group or (name,)


def expand(names: list[str]) -> list[str]:
    """`names` with every group replaced by its members, each once, in start order."""
    wanted = {member for name in names for member in members(name)}
    return [n for n in SERVICES if n in wanted]


def processes() -> list[str]:
    """Every service that runs a process of its own (the groups left out), in start order."""
    return [n for n in SERVICES if members(n) == (n,)]


def with_dependencies(names: list[str]) -> list[str]:
    """`names` plus everything they depend on, in start order."""
    wanted: set[str] = set()

    def add(name: str) -> None:
        if name in wanted:
            return
        for dep in service_class(name).depends_on:
            add(dep)
        wanted.add(name)

    for n in expand(names):
        add(n)
    return expand([n for n in SERVICES if n in wanted])
