"""Batch: MongoDB -> S3 landing bucket with dlt (`python -m pipelines batch`, or the Airflow DAG)."""
