"""Kafka Connect connectors as Pulumi dynamic resources (their configs per S3 sink flavour: contract.s3_sink)."""

from components.connect.client import ConnectClient, ConnectError, FieldError
from components.connect.provider import ConnectorProvider
from components.connect.resource import Connector, ConnectorArgs

__all__ = ["ConnectClient", "ConnectError", "Connector", "ConnectorArgs", "ConnectorProvider", "FieldError"]
