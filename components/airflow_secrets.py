"""Moved to components/airflow/secrets.py; this path is kept until its importers follow."""

from components.airflow.secrets import AirflowSecrets, AirflowSecretsArgs

__all__ = ["AirflowSecrets", "AirflowSecretsArgs"]
