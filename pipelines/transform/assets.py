"""The lake's landing datasets as an Airflow Asset: the batch DAG lists it in its outlets once its load is
reconciled, and the transform DAG is scheduled on it. Defining it here (no I/O, nothing but the name) lets both
DAG files import the same object."""

from __future__ import annotations

from airflow.sdk import Asset

#: the MongoDB datasets dlt landed in the lake (contract.lake_layout: <bucket>/dlt/mongodb/<table>/)
LANDED = Asset(name="kde_finance_landing", uri="kde://lake/landing/mongodb", group="finance")
