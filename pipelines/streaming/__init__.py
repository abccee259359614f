"""Streaming: the schema-registry producer -> Kafka -> the S3 sink connector -> the landing bucket."""
