"""The pipelines that move the loaded data into the lake, and the demo that shows the whole product.

- `pipelines.batch`: a dlt source over MongoDB (written here; dlt ships none) loading the S3 landing bucket,
  run alone (`python -m pipelines batch`) or by the Airflow DAG in `pipelines/dags/`.
- `pipelines.streaming`: the schema-registry producer (`python -m pipelines produce`) and the S3 sink connector
  that writes the topic into the landing bucket.
- `pipelines.demo`: `make demo`, everything end to end with a reconciliation table.

Every target comes from the stack outputs (`--stack NAME` or `--outputs FILE`, see `stacks/outputs.py`).
"""
