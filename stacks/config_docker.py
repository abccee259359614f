"""Config of what the `docker` substrate runs as containers: their published host ports and their images."""

from __future__ import annotations

from typing import Any

from stacks.config_checks import ConfigError, bounded_int

#: the published host ports of the Docker services; the seed's defaults, minus its Airflow/console clash
DEFAULT_PORTS: dict[str, int] = {
    "kafka": 9092,
    "schemaRegistry": 8081,
    "restProxy": 8082,
    "connect": 8083,
    "console": 8085,
    "airflow": 8080,
    "mongodb": 27017,
    # emulators (stack `local` only)
    "moto": 5000,
    "gcs": 4443,
    "firestore": 8086,
}
EMULATOR_PORTS = frozenset({"moto", "gcs", "firestore"})

#: images pulled by the stacks (Connect and Airflow are built from containers/)
DEFAULT_IMAGES: dict[str, str] = {
    "kafka": "apache/kafka:3.9.1",
    "schemaRegistry": "confluentinc/cp-schema-registry:7.9.2",
    "restProxy": "confluentinc/cp-kafka-rest:7.9.2",
    "console": "redpandadata/console:v2.8.5",
    "postgres": "postgres:16.9",
    "mongodb": "mongo:7.0.21",
    "moto": "motoserver/moto:5.1.4",
    "gcs": "fsouza/fake-gcs-server:1.52.2",
    "firestore": "google/cloud-sdk:524.0.0-emulators",
}


def ports(value: Any, emulated: bool) -> dict[str, int]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError("ports", "expected a map of service name to host port")
    unknown = sorted(set(value) - set(DEFAULT_PORTS))
    if unknown:
        raise ConfigError(f"ports.{unknown[0]}", f"unknown service; known: {', '.join(DEFAULT_PORTS)}")
    chosen = {
        name: bounded_int(f"ports.{name}", port, 1024, 65535) for name, port in {**DEFAULT_PORTS, **value}.items()
    }
    in_use = {name: port for name, port in chosen.items() if emulated or name not in EMULATOR_PORTS}
    seen: dict[int, str] = {}
    for name, port in in_use.items():
        if port in seen:
            raise ConfigError(f"ports.{name}", f"port {port} is already used by ports.{seen[port]}")
        seen[port] = name
    return in_use


def images(value: Any) -> dict[str, str]:
    if value is None:
        return dict(DEFAULT_IMAGES)
    if not isinstance(value, dict):
        raise ConfigError("images", "expected a map of service name to image reference")
    unknown = sorted(set(value) - set(DEFAULT_IMAGES))
    if unknown:
        raise ConfigError(f"images.{unknown[0]}", f"unknown image; known: {', '.join(DEFAULT_IMAGES)}")
    return {**DEFAULT_IMAGES, **{k: str(v) for k, v in value.items()}}
