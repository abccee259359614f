from __future__ import annotations

import pytest

from components.connect.provider import static_failures
from contract.s3_sink import (
    CONNECTOR_CLASSES,
    DEAD_LETTER_TOPIC,
    FLAVOURS,
    S3SinkSettings,
    s3_sink_config,
    sink_config_for,
)
from tests.unit._stack_runs import stack_run

SEED = S3SinkSettings(
    topics=("cards-data",),
    bucket="kde-landing",
    region="ap-southeast-7",
    topics_dir="kafka/some-sub-dir",
    schema_registry_url="http://schema-registry:8081",
)


def test_confluent_config_reproduces_the_seeds_s3_sink_kde() -> None:
    config, secret = s3_sink_config(SEED)
    assert {k: config[k] for k in ("connector.class", "topics", "s3.bucket.name", "s3.region", "flush.size")} == {
        "connector.class": CONNECTOR_CLASSES["confluent"],
        "topics": "cards-data",
        "s3.bucket.name": "kde-landing",
        "s3.region": "ap-southeast-7",
        "flush.size": "3",
    }
    assert config["format.class"] == "io.confluent.connect.s3.format.json.JsonFormat"
    assert config["key.converter"] == "org.apache.kafka.connect.storage.StringConverter"
    assert config["value.converter"] == "io.confluent.connect.json.JsonSchemaConverter"
    assert config["value.converter.schema.registry.url"] == "http://schema-registry:8081"
    assert config["s3.credentials.provider.class"] == "com.amazonaws.auth.DefaultAWSCredentialsProviderChain"
    assert "store.url" not in config
    assert secret == {}


def test_an_endpoint_override_turns_on_path_style_access() -> None:
    config, _ = s3_sink_config(S3SinkSettings(**{**SEED.__dict__, "endpoint_url": "http://moto:5000"}))
    assert (config["store.url"], config["s3.path.style.access.enabled"]) == ("http://moto:5000", "true")


def test_aiven_config_writes_plain_json_lines_with_credentials_by_reference() -> None:
    config, secret = s3_sink_config(
        S3SinkSettings(**{**SEED.__dict__, "flavour": "aiven", "endpoint_url": "http://127.0.0.1:5000"})
    )
    assert config["connector.class"] == CONNECTOR_CLASSES["aiven"]
    assert (config["aws.s3.endpoint"], config["aws.s3.path.style.access.enabled"]) == ("http://127.0.0.1:5000", "true")
    assert (config["format.output.type"], config["format.output.envelope"]) == ("jsonl", "false")
    assert config["value.converter.schemas.enable"] == "false"
    assert config["aws.access.key.id"] == "${env:AWS_ACCESS_KEY_ID}"
    assert config["aws.secret.access.key"] == "${env:AWS_SECRET_ACCESS_KEY}"
    assert secret == {}


def test_devstack_config_references_the_workers_keys_instead_of_holding_them() -> None:
    settings = {**SEED.__dict__, "flavour": "devstack", "endpoint_url": "http://127.0.0.1:15000"}
    config, secret = s3_sink_config(S3SinkSettings(**settings))
    assert config["connector.class"] == CONNECTOR_CLASSES["devstack"]
    assert config["value.converter"] == "local.devstack.connect.s3.SchemaRegistryJsonConverter"
    assert (config["store.url"], config["topics.dir"]) == ("http://127.0.0.1:15000", "kafka/some-sub-dir")
    assert config["aws.access.key.id"] == "${env:AWS_ACCESS_KEY_ID}"
    assert config["aws.secret.access.key"] == "${env:AWS_SECRET_ACCESS_KEY}"
    assert secret == {}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_flavour_passes_the_providers_static_check(flavour: str) -> None:
    config, secret = s3_sink_config(S3SinkSettings(**{**SEED.__dict__, "flavour": flavour}))
    news = {"name": "s3-sink-kde", "connect_url": "http://c:8083", "config": config, "secret_config": secret}
    assert static_failures(news) == []


def test_a_throwaway_connector_gets_the_stacks_flavour_and_bucket() -> None:
    outputs = stack_run("devstack").raw_outputs
    config, secret = sink_config_for(outputs, ("test-topic",), flush_size=7)
    assert config["connector.class"] == CONNECTOR_CLASSES[outputs["s3_sink"]["flavour"]]
    assert (config["topics"], config["flush.size"]) == ("test-topic", "7")
    assert config["s3.bucket.name"] == outputs["s3_sink"]["bucket"]
    assert outputs["aws_credentials"]["secret_access_key"] not in {**config, **secret}.values()


@pytest.mark.parametrize(
    ("change", "message"), [({"topics": ()}, "at least one topic"), ({"flavour": "camel"}, "flavour")]
)
def test_invalid_settings_are_refused(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        s3_sink_config(S3SinkSettings(**{**SEED.__dict__, **change}))


DLQ_KEYS = {
    "errors.tolerance": "all",
    "errors.deadletterqueue.topic.name": DEAD_LETTER_TOPIC,
    "errors.deadletterqueue.topic.replication.factor": "1",
    "errors.deadletterqueue.context.headers.enable": "true",
}


@pytest.mark.parametrize("flavour", ["devstack", "confluent"])
def test_devstack_and_confluent_share_the_rotation_compression_and_tombstone_keys(flavour: str) -> None:
    settings = {"flavour": flavour, "rotate_schedule_interval_ms": 2500, "compression": "gzip"}
    config, _ = s3_sink_config(S3SinkSettings(**{**SEED.__dict__, **settings}))
    assert {k: config[k] for k in ("rotate.schedule.interval.ms", "timezone", "s3.compression.type")} == {
        "rotate.schedule.interval.ms": "2500",
        "timezone": "UTC",  # Confluent's sink requires a time zone with a schedule
        "s3.compression.type": "gzip",
    }
    assert config["behavior.on.null.values"] == "ignore"


def test_without_a_schedule_objects_are_cut_by_flush_size_only() -> None:
    config, _ = s3_sink_config(S3SinkSettings(**{**SEED.__dict__, "flavour": "devstack"}))
    assert "rotate.schedule.interval.ms" not in config and "timezone" not in config


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_flavour_sends_unreadable_records_to_the_dead_letter_topic(flavour: str) -> None:
    settings = {"flavour": flavour, "dead_letter_topic": DEAD_LETTER_TOPIC}
    config, _ = s3_sink_config(S3SinkSettings(**{**SEED.__dict__, **settings}))
    assert DLQ_KEYS.items() <= config.items()


def test_no_dead_letter_topic_keeps_connects_default_of_failing() -> None:
    config, _ = s3_sink_config(SEED)
    assert not any(key.startswith("errors.") for key in config)


def test_aiven_gzips_with_its_own_key_and_names_the_objects_gz() -> None:
    config, _ = s3_sink_config(S3SinkSettings(**{**SEED.__dict__, "flavour": "aiven", "compression": "gzip"}))
    assert config["file.compression.type"] == "gzip"
    assert config["file.name.template"].endswith(".jsonl.gz")


def test_an_unknown_compression_is_refused() -> None:
    with pytest.raises(ValueError, match="compression 'zstd'"):
        s3_sink_config(S3SinkSettings(**{**SEED.__dict__, "compression": "zstd"}))


def test_the_stacks_sink_lands_the_last_records_and_has_a_dead_letter_topic() -> None:
    run = stack_run("devstack")
    connector = run.of_type("pulumi-python:dynamic/kafka-connect:Connector")[0].inputs["config"]
    assert (connector["flush.size"], connector["rotate.schedule.interval.ms"]) == ("500", "1000")
    assert DLQ_KEYS.items() <= connector.items()
    topics = {r.inputs["topic"] for r in run.of_type("pulumi-python:dynamic/kafka:Topic")}
    assert DEAD_LETTER_TOPIC in topics
    assert run.raw_outputs["s3_sink"]["dead_letter_topic"] == DEAD_LETTER_TOPIC
