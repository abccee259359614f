from __future__ import annotations

import pytest
from components.connect.s3_sink import AIVEN_S3_SINK, CONFLUENT_S3_SINK, S3SinkSettings, s3_sink_config

from components.connect.provider import static_failures

SEED = S3SinkSettings(
    topics=("cards-data",),
    bucket="kde-landing",
    region="ap-southeast-7",
    topics_dir="kafka/some-sub-dir",
    schema_registry_url="http://schema-registry:8081",
)


def test_confluent_config_reproduces_the_seeds_s3_sink_kde() -> None:
    config = s3_sink_config(SEED)
    assert {k: config[k] for k in ("connector.class", "topics", "s3.bucket.name", "s3.region", "flush.size")} == {
        "connector.class": CONFLUENT_S3_SINK,
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


def test_an_endpoint_override_turns_on_path_style_access() -> None:
    config = s3_sink_config(S3SinkSettings(**{**SEED.__dict__, "endpoint_url": "http://moto:5000"}))
    assert (config["store.url"], config["s3.path.style.access.enabled"]) == ("http://moto:5000", "true")


def test_aiven_config_writes_plain_json_lines_with_credentials_by_reference() -> None:
    config = s3_sink_config(
        S3SinkSettings(**{**SEED.__dict__, "flavour": "aiven", "endpoint_url": "http://127.0.0.1:5000"})
    )
    assert config["connector.class"] == AIVEN_S3_SINK
    assert (config["aws.s3.endpoint"], config["aws.s3.path.style.access.enabled"]) == ("http://127.0.0.1:5000", "true")
    assert (config["format.output.type"], config["format.output.envelope"]) == ("jsonl", "false")
    assert config["value.converter.schemas.enable"] == "false"
    assert config["aws.access.key.id"] == "${env:AWS_ACCESS_KEY_ID}"
    assert config["aws.secret.access.key"] == "${env:AWS_SECRET_ACCESS_KEY}"


@pytest.mark.parametrize("flavour", ["confluent", "aiven"])
def test_both_flavours_pass_the_providers_static_check(flavour: str) -> None:
    config = s3_sink_config(S3SinkSettings(**{**SEED.__dict__, "flavour": flavour}))
    assert static_failures({"name": "s3-sink-kde", "connect_url": "http://c:8083", "config": config}) == []


@pytest.mark.parametrize(
    ("change", "message"), [({"topics": ()}, "at least one topic"), ({"flavour": "camel"}, "flavour")]
)
def test_invalid_settings_are_refused(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        s3_sink_config(S3SinkSettings(**{**SEED.__dict__, **change}))
