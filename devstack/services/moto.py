"""The old name "moto" (one moto server for S3 and DynamoDB, in memory): now the two services that replaced it,
s3 (versitygw) and dynamodb (dynalite), each with its data on disk. `devstack up moto`, `platform("moto")`,
a dependency on "moto", `service("moto").kill()` and its published facts cover both. Unlike the old service it
has no pid of its own, and `up(["moto"])` answers with the names of the members it started."""

from __future__ import annotations

from devstack.services._group import ServiceGroup
from devstack.services.dynamodb import Dynalite
from devstack.services.s3 import S3Gateway


class Moto(ServiceGroup):
    name = "moto"
    members = (S3Gateway.name, Dynalite.name)
    depends_on = members
    port_names = S3Gateway.port_names + Dynalite.port_names
    description = "S3 + DynamoDB: the s3 and dynamodb services (old name)"
