"""One way to declare a service container: on the stack's network, host ports on loopback only, a health
check, and `wait` so dependants start only once the service is healthy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Service:
    name: str  # container name, e.g. kde-dev-kafka
    alias: str  # hostname on the stack's network, e.g. kafka
    image: pulumi.Input[str]
    health: str  # a shell command that exits 0 when the service is healthy
    ports: Mapping[int, int] = field(default_factory=dict)  # container port -> host port
    envs: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    command: Sequence[str] | None = None
    volumes: Sequence[docker.ContainerVolumeArgs] = ()
    start_period: str = "30s"


def env_list(envs: Mapping[str, pulumi.Input[str]]) -> pulumi.Output[list[str]]:
    """`KEY=value` strings in key order; a secret value keeps the list secret."""
    return pulumi.Output.all(*[pulumi.Output.concat(k, "=", v) for k, v in sorted(envs.items())])


def pulled_image(name: str, ref: str, opts: pulumi.ResourceOptions) -> docker.RemoteImage:
    return docker.RemoteImage(name, name=ref, keep_locally=True, opts=opts)


def service_container(service: Service, network: docker.Network, opts: pulumi.ResourceOptions) -> docker.Container:
    return docker.Container(
        service.name,
        name=service.name,
        image=service.image,
        hostname=service.alias,
        networks_advanced=[{"name": network.name, "aliases": [service.alias]}],
        ports=[
            {"internal": inner, "external": outer, "ip": LOOPBACK} for inner, outer in sorted(service.ports.items())
        ],
        envs=env_list(service.envs) if service.envs else None,
        command=list(service.command) if service.command else None,
        volumes=list(service.volumes) or None,
        healthcheck={
            "tests": ["CMD-SHELL", service.health],
            "interval": "10s",
            "timeout": "5s",
            "retries": 12,
            "start_period": service.start_period,
        },
        restart="unless-stopped",
        wait=True,
        wait_timeout=180,
        opts=opts,
    )
