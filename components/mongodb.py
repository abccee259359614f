"""MongoDB on local Docker (both stacks; the seed's loaders and DAG read from it). Published on loopback only;
with a `mongodbPassword` secret it runs with a root user, and its URI output is always a secret."""

from __future__ import annotations

from typing import NotRequired, Required, TypedDict
from urllib.parse import quote

import pulumi
import pulumi_docker as docker

from components._docker import LOOPBACK, Service, pulled_image, service_container
from contract import naming

ROOT_USER = "kde"


class MongoDbArgs(TypedDict):
    prefix: Required[str]
    stack: Required[str]
    network: Required[docker.Network]
    port: Required[int]
    image: Required[str]
    password: NotRequired[pulumi.Input[str] | None]


class MongoDb(pulumi.ComponentResource):
    container: docker.Container
    uri: pulumi.Output[str]  # from the host
    internal_uri: pulumi.Output[str]  # from containers on the stack network

    def __init__(self, name: str, args: MongoDbArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kde:data:MongoDb", name, None, opts)
        prefix, stack, port = args["prefix"], args["stack"], args["port"]
        child = pulumi.ResourceOptions(parent=self)
        password = args.get("password")
        envs: dict[str, pulumi.Input[str]] = {}
        if password is not None:
            envs = {"MONGO_INITDB_ROOT_USERNAME": ROOT_USER, "MONGO_INITDB_ROOT_PASSWORD": password}
        self.container = service_container(
            Service(
                name=naming.resource_name(prefix, stack, "mongodb"),
                alias="mongodb",
                image=pulled_image(naming.resource_name(prefix, stack, "mongodb-image"), args["image"], child).name,
                ports={27017: port},
                envs=envs,
                health="mongosh --quiet --eval 'db.adminCommand({ping: 1}).ok' | grep -q 1",
            ),
            args["network"],
            child,
        )
        self.uri = pulumi.Output.secret(self._uri(f"{LOOPBACK}:{port}", password))
        self.internal_uri = pulumi.Output.secret(self._uri("mongodb:27017", password))
        self.register_outputs({"uri": self.uri})

    def _uri(self, address: str, password: pulumi.Input[str] | None) -> pulumi.Output[str]:
        if password is None:
            return self.container.name.apply(lambda _: f"mongodb://{address}/")
        quoted = pulumi.Output.from_input(password).apply(lambda p: quote(p, safe=""))
        return pulumi.Output.concat("mongodb://", ROOT_USER, ":", quoted, "@", address, "/?authSource=admin")
