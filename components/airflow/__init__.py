"""Airflow Variables and Connections as Pulumi dynamic resources over Airflow 3's REST API v2
(client -> provider -> resource, as components/connect/), and the stacks' Airflow settings made of them
(`settings.AirflowSettings`; MWAA's, as Secrets Manager secrets: `secrets.AirflowSecrets`)."""

from components.airflow.client import MASK, AirflowApiError, AirflowClient
from components.airflow.provider import ConnectionProvider, RestObjectProvider, VariableProvider
from components.airflow.resource import (
    AirflowConnection,
    AirflowConnectionArgs,
    AirflowVariable,
    AirflowVariableArgs,
)
from components.airflow.settings import AirflowSettings, AirflowSettingsArgs
from components.airflow.uri import connection_fields_from_uri

__all__ = [
    "MASK",
    "AirflowApiError",
    "AirflowClient",
    "AirflowConnection",
    "AirflowConnectionArgs",
    "AirflowSettings",
    "AirflowSettingsArgs",
    "AirflowVariable",
    "AirflowVariableArgs",
    "ConnectionProvider",
    "RestObjectProvider",
    "VariableProvider",
    "connection_fields_from_uri",
]
