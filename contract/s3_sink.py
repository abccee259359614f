"""Config of the seed's S3 sink connector (`s3-sink-kde`) for every S3 sink plugin a Connect worker may run:

- `devstack`: the plugin devstack's worker runs (devstack/jvm/s3-sink: Confluent's key names and object names,
  original JSON documents one per line; the names are contract.lake_layout's);
- `confluent`: Confluent's S3 sink (the Docker stacks' image);
- `aiven`: Aiven's S3 sink.

Which flavour a worker runs is published in the stack outputs (`s3_sink.flavour`) by whoever deployed the
worker: the Pulumi program for the Docker stacks, devstack for its own; nobody probes the worker.

Credentials never sit in a connector config: the Confluent sink uses the default AWS credential chain of the
worker (its environment, as the seed did); Aiven's and devstack's configs hold config-provider references
(`${env:AWS_SECRET_ACCESS_KEY}`) that the worker resolves from its own environment (every worker here has
`config.providers=env` and the keys in its environment: devstack's Connect service, the Docker stacks'
container env). So the Connect REST API, its config topic and the Pulumi state show only the references.
`secret_config` stays for connectors that must carry a literal secret (none of these flavours does).

The same settings mean the same thing in every flavour: `flush_size` records per object;
`rotate_schedule_interval_ms` writes what a partition holds at each wall-clock multiple of it (UTC), so the last
records land without more arriving (Aiven's sink has no such key: it writes at every offset commit anyway);
`compression` gzip; `dead_letter_topic`: records the value converter cannot read go there (Connect's own DLQ,
`errors.tolerance=all`) and the rest land; tombstones are skipped (`behavior.on.null.values=ignore`; Aiven's
sink has no such key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from contract import lake_layout, naming

FLAVOURS: tuple[str, ...] = ("devstack", "confluent", "aiven")
CONNECTOR_CLASSES: dict[str, str] = {
    "devstack": "local.devstack.connect.s3.S3SinkConnector",
    "confluent": "io.confluent.connect.s3.S3SinkConnector",
    "aiven": "io.aiven.kafka.connect.s3.AivenKafkaConnectS3SinkConnector",
}
STRING_CONVERTER = "org.apache.kafka.connect.storage.StringConverter"
JSON_SCHEMA_CONVERTER = "io.confluent.connect.json.JsonSchemaConverter"
PLAIN_JSON_CONVERTER = "org.apache.kafka.connect.json.JsonConverter"
#: devstack's converter: strips the Confluent wire prefix (magic byte + schema id), keeps the JSON bytes
DEVSTACK_JSON_CONVERTER = "local.devstack.connect.s3.SchemaRegistryJsonConverter"
ENV_ACCESS_KEY_ID = "${env:AWS_ACCESS_KEY_ID}"
ENV_SECRET_ACCESS_KEY = "${env:AWS_SECRET_ACCESS_KEY}"
COMPRESSIONS: tuple[str, ...] = ("none", "gzip")
#: where the stack's sink sends the records its converter cannot read (a topic the stack creates)
DEAD_LETTER_TOPIC = f"{naming.S3_SINK_CONNECTOR}-dlq"
#: wall-clock rotation of the stack's sink: the last records of a burst land within this many ms
DEFAULT_ROTATE_SCHEDULE_INTERVAL_MS = 5_000


@dataclass(frozen=True)
class S3SinkSettings:
    topics: tuple[str, ...]
    bucket: str
    region: str
    topics_dir: str
    schema_registry_url: str  # used by the Confluent flavour's JsonSchemaConverter
    flush_size: int = 3
    endpoint_url: str | None = None  # S3-compatible endpoint (moto, MinIO); implies path-style access
    flavour: str = "confluent"
    rotate_schedule_interval_ms: int | None = None  # None: objects are written on flush_size only
    compression: str = "none"
    dead_letter_topic: str | None = None
    dead_letter_replication_factor: int = 1  # used only if the worker must create the topic itself


class SinkConfig(NamedTuple):
    config: dict[str, str]
    secret_config: dict[str, str]  # credentials: kept secret in the state, merged only when calling the worker


def s3_sink_config(settings: S3SinkSettings) -> SinkConfig:
    if not settings.topics:
        raise ValueError("S3 sink: at least one topic is required")
    builders = {"devstack": devstack_config, "confluent": confluent_config, "aiven": aiven_config}
    if settings.flavour not in builders:
        raise ValueError(f"S3 sink flavour {settings.flavour!r}: expected one of {', '.join(FLAVOURS)}")
    if settings.compression not in COMPRESSIONS:
        raise ValueError(f"S3 sink compression {settings.compression!r}: expected one of {', '.join(COMPRESSIONS)}")
    return builders[settings.flavour](settings)


def _common(s: S3SinkSettings) -> dict[str, str]:
    config = {
        "connector.class": CONNECTOR_CLASSES[s.flavour],
        "tasks.max": "1",
        "topics": ",".join(s.topics),
        "key.converter": STRING_CONVERTER,
    }
    if s.dead_letter_topic:  # Connect's own error handling: the same keys for every plugin
        config |= {
            "errors.tolerance": "all",
            "errors.deadletterqueue.topic.name": s.dead_letter_topic,
            "errors.deadletterqueue.topic.replication.factor": str(s.dead_letter_replication_factor),
            "errors.deadletterqueue.context.headers.enable": "true",
            "errors.log.enable": "true",
        }
    return config


def _confluent_rotation(s: S3SinkSettings) -> dict[str, str]:
    """Confluent's keys (devstack's plugin has the same) for compression, tombstones and wall-clock rotation."""
    config = {"s3.compression.type": s.compression, "behavior.on.null.values": "ignore"}
    if s.rotate_schedule_interval_ms:
        config |= {"rotate.schedule.interval.ms": str(s.rotate_schedule_interval_ms), "timezone": "UTC"}
    return config


def devstack_config(s: S3SinkSettings) -> SinkConfig:
    """devstack's plugin: Confluent's key names, the producer's JSON documents written as they were; the keys by
    reference to the worker's environment."""
    config = {
        **_common(s),
        "s3.bucket.name": s.bucket,
        "s3.region": s.region,
        "topics.dir": s.topics_dir,
        "flush.size": str(s.flush_size),
        **_confluent_rotation(s),
        "value.converter": DEVSTACK_JSON_CONVERTER,
        "aws.access.key.id": ENV_ACCESS_KEY_ID,
        "aws.secret.access.key": ENV_SECRET_ACCESS_KEY,
    }
    if s.endpoint_url:
        config["store.url"] = s.endpoint_url
        config["s3.path.style.access.enabled"] = "true"
    return SinkConfig(config, {})


def confluent_config(s: S3SinkSettings) -> SinkConfig:
    """The seed's s3-sink-kde, with its ignored time-path settings dropped."""
    config = {
        **_common(s),
        "s3.bucket.name": s.bucket,
        "s3.region": s.region,
        "s3.part.size": "26214400",
        "flush.size": str(s.flush_size),
        **_confluent_rotation(s),
        "retry.backoff.ms": "5000",
        "storage.class": "io.confluent.connect.s3.storage.S3Storage",
        "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
        "partitioner.class": "io.confluent.connect.storage.partitioner.DefaultPartitioner",
        "schema.compatibility": "NONE",
        "topics.dir": s.topics_dir,
        "s3.credentials.provider.class": "com.amazonaws.auth.DefaultAWSCredentialsProviderChain",
        "value.converter": JSON_SCHEMA_CONVERTER,
        "value.converter.schema.registry.url": s.schema_registry_url,
    }
    if s.endpoint_url:
        config["store.url"] = s.endpoint_url
        config["s3.path.style.access.enabled"] = "true"
    return SinkConfig(config, {})


def aiven_config(s: S3SinkSettings) -> SinkConfig:
    """Aiven's sink: values written as plain JSON lines under `<topics_dir>/<topic>-<partition>-<offset>`."""
    config = {
        **_common(s),
        "aws.s3.bucket.name": s.bucket,
        "aws.s3.region": s.region,
        "aws.access.key.id": ENV_ACCESS_KEY_ID,
        "aws.secret.access.key": ENV_SECRET_ACCESS_KEY,
        "file.name.prefix": s.topics_dir.rstrip("/") + "/",
        "file.name.template": lake_layout.aiven_file_name_template(s.compression),
        "file.compression.type": s.compression,
        "format.output.type": "jsonl",
        "format.output.fields": "value",
        "format.output.fields.value.encoding": "none",
        "format.output.envelope": "false",
        "file.max.records": str(s.flush_size),
        # Confluent's JsonSchemaConverter is not on Maven Central: producers send plain JSON values (schema id
        # in a record header, confluent-kafka's header_schema_id_serializer) read by Kafka's own JsonConverter
        "value.converter": PLAIN_JSON_CONVERTER,
        "value.converter.schemas.enable": "false",
    }
    if s.endpoint_url:
        config["aws.s3.endpoint"] = s.endpoint_url
        config["aws.s3.path.style.access.enabled"] = "true"
    return SinkConfig(config, {})


def sink_config_for(
    outputs: Mapping[str, Any],
    topics: tuple[str, ...],
    flush_size: int = 3,
    rotate_schedule_interval_ms: int | None = DEFAULT_ROTATE_SCHEDULE_INTERVAL_MS,
    compression: str = "none",
    dead_letter_topic: str | None = None,
) -> SinkConfig:
    """The stack's S3 sink config (its flavour, bucket, prefix) for other `topics`, as seen from this host: for a
    throwaway connector of a test or a benchmark on the stack's worker."""
    sink = outputs["s3_sink"]
    return s3_sink_config(
        S3SinkSettings(
            topics=topics,
            bucket=sink["bucket"],
            region=outputs["aws_region"],
            topics_dir=sink["prefix"],
            schema_registry_url=outputs["schema_registry_url"],
            flush_size=flush_size,
            endpoint_url=(outputs.get("endpoints") or {}).get("s3"),
            flavour=sink["flavour"],
            rotate_schedule_interval_ms=rotate_schedule_interval_ms,
            compression=compression,
            dead_letter_topic=dead_letter_topic,
        )
    )
