"""The old home of the Airflow providers (now components/airflow/), kept because a Pulumi state written before
the move names each Variable's and Connection's provider `components.airflow_objects.VariableProvider` /
`.ConnectionProvider`: dynamic providers are pickled by reference to their module, and refresh and delete
unpickle the one in the state. Import from components.airflow instead."""

from components.airflow.provider import ConnectionProvider, VariableProvider

__all__ = ["ConnectionProvider", "VariableProvider"]
