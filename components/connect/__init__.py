"""Kafka Connect connectors as Pulumi dynamic resources, and the S3 sink config helper."""

from components.connect.client import ConnectClient, ConnectError, FieldError
from components.connect.provider import ConnectorProvider
from components.connect.resource import Connector, ConnectorArgs
from components.connect.s3_sink import S3SinkSettings, s3_sink_config

__all__ = [
    "ConnectClient",
    "ConnectError",
    "Connector",
    "ConnectorArgs",
    "ConnectorProvider",
    "FieldError",
    "S3SinkSettings",
    "s3_sink_config",
]
