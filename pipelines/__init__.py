"""The pipelines that move the loaded data into the lake, and the Airflow DAGs deployed with the stack.

- `pipelines.batch`: a dlt source over MongoDB (written here; dlt ships none) loading the S3 landing bucket,
  run alone (`python -m pipelines batch`) or by the Airflow DAG in `pipelines/dags/`.
- `pipelines.streaming`: reading back what the stack's S3 sink connector wrote into the landing bucket (records
  reach Kafka through the loaders: `python -m loaders load -d kafka --mode streaming`).
- `pipelines/dags/`: `load_sources` (the loaders) and `ingestion_pipeline_mongodb_s3` (the batch pipeline).

Every target comes from the stack outputs (`--stack NAME` or `--outputs FILE`, see `contract/outputs.py`; inside
Airflow, the stack's Variable and connections: `pipelines/airflow_outputs.py`).
"""
