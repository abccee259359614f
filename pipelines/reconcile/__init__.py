"""Reconciliation: every row and every value of a dataset accounted for, from the source files through every
sink to the lake (`python -m pipelines reconcile`). Driven by `schemas/` (keys, field types).

stores/     one streaming reader per place a dataset lives (source files, MongoDB, Firestore, DynamoDB, a Kafka
            topic, dlt's lake tables, the S3 sink's objects), each yielding the records as that store types them
canonical   one text per typed value, the same whichever store it came from
digest      per-row, per-column hashes of the canonical values in DuckDB (on disk, memory capped)
compare     segment checksums, then the rows and columns of the segments that differ
report      the result, thresholds, exit code, the JSON report
html        the self-contained HTML page
storage     both into the lake: reconciliation/<dataset>/<run id>.json and reconciliation/<run id>.html
cli         the command
"""
