"""Config of the seed's S3 sink connector (`s3-sink-kde`), for Confluent's plugin (the Docker stacks) or
Aiven's (our no-Docker devstack: Maven Central, endpoint override, path-style, plain JSON lines).

Credentials: never literal keys in `config`. The Confluent sink uses the default AWS credential chain, fed
by the Connect container's environment (as the seed did). The Aiven sink takes keys in its config, so the
helper writes config provider references (`${env:AWS_ACCESS_KEY_ID}`), resolved by the worker
(`config.providers=env`) — the state holds only the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

CONFLUENT_S3_SINK = "io.confluent.connect.s3.S3SinkConnector"
AIVEN_S3_SINK = "io.aiven.kafka.connect.s3.AivenKafkaConnectS3SinkConnector"
STRING_CONVERTER = "org.apache.kafka.connect.storage.StringConverter"
JSON_SCHEMA_CONVERTER = "io.confluent.connect.json.JsonSchemaConverter"
PLAIN_JSON_CONVERTER = "org.apache.kafka.connect.json.JsonConverter"
ENV_ACCESS_KEY_ID = "${env:AWS_ACCESS_KEY_ID}"
ENV_SECRET_ACCESS_KEY = "${env:AWS_SECRET_ACCESS_KEY}"


@dataclass(frozen=True)
class S3SinkSettings:
    topics: tuple[str, ...]
    bucket: str
    region: str
    topics_dir: str
    schema_registry_url: str  # used by the Confluent flavour's JsonSchemaConverter
    flush_size: int = 3
    endpoint_url: str | None = None  # S3-compatible endpoint (moto, MinIO); implies path-style access
    flavour: str = "confluent"  # "confluent" | "aiven"


def s3_sink_config(settings: S3SinkSettings) -> dict[str, str]:
    if not settings.topics:
        raise ValueError("S3 sink: at least one topic is required")
    if settings.flavour == "confluent":
        return confluent_config(settings)
    if settings.flavour == "aiven":
        return aiven_config(settings)
    raise ValueError(f"S3 sink flavour {settings.flavour!r}: expected 'confluent' or 'aiven'")


def confluent_config(s: S3SinkSettings) -> dict[str, str]:
    """The seed's s3-sink-kde, with its ignored time-path settings dropped."""
    config = {
        "connector.class": CONFLUENT_S3_SINK,
        "tasks.max": "1",
        "topics": ",".join(s.topics),
        "s3.bucket.name": s.bucket,
        "s3.region": s.region,
        "s3.part.size": "26214400",
        "flush.size": str(s.flush_size),
        "retry.backoff.ms": "5000",
        "storage.class": "io.confluent.connect.s3.storage.S3Storage",
        "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
        "partitioner.class": "io.confluent.connect.storage.partitioner.DefaultPartitioner",
        "schema.compatibility": "NONE",
        "topics.dir": s.topics_dir,
        "s3.credentials.provider.class": "com.amazonaws.auth.DefaultAWSCredentialsProviderChain",
        "key.converter": STRING_CONVERTER,
        "value.converter": JSON_SCHEMA_CONVERTER,
        "value.converter.schema.registry.url": s.schema_registry_url,
    }
    if s.endpoint_url:
        config["store.url"] = s.endpoint_url
        config["s3.path.style.access.enabled"] = "true"
    return config


def aiven_config(s: S3SinkSettings) -> dict[str, str]:
    """Aiven's sink: values written as plain JSON lines under `<topics_dir>/<topic>-<partition>-<offset>`."""
    config = {
        "connector.class": AIVEN_S3_SINK,
        "tasks.max": "1",
        "topics": ",".join(s.topics),
        "aws.s3.bucket.name": s.bucket,
        "aws.s3.region": s.region,
        "aws.access.key.id": ENV_ACCESS_KEY_ID,
        "aws.secret.access.key": ENV_SECRET_ACCESS_KEY,
        "file.name.prefix": s.topics_dir.rstrip("/") + "/",
        "file.name.template": "{{topic}}/{{topic}}-{{partition}}-{{start_offset}}.jsonl",
        "file.compression.type": "none",
        "format.output.type": "jsonl",
        "format.output.fields": "value",
        "format.output.fields.value.encoding": "none",
        "format.output.envelope": "false",
        "file.max.records": str(s.flush_size),
        "key.converter": STRING_CONVERTER,
        # Confluent's JsonSchemaConverter is not on Maven Central: producers send plain JSON values (schema id
        # in a record header, confluent-kafka's header_schema_id_serializer) read by Kafka's own JsonConverter
        "value.converter": PLAIN_JSON_CONVERTER,
        "value.converter.schemas.enable": "false",
    }
    if s.endpoint_url:
        config["aws.s3.endpoint"] = s.endpoint_url
        config["aws.s3.path.style.access.enabled"] = "true"
    return config
