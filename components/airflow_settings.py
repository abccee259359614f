"""Moved to components/airflow/settings.py; this path is kept until its importers follow."""

from components.airflow.settings import AirflowSettings, AirflowSettingsArgs

__all__ = ["AirflowSettings", "AirflowSettingsArgs"]
