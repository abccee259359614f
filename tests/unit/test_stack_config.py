"""Invalid stack config fails with an error naming the key to fix."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import ConfigError, parse

VALID: dict[str, Any] = {"awsRegion": "ap-southeast-7", "gcpProject": "kde-finance-dev"}


def test_defaults_match_the_seed() -> None:
    cfg = parse("dev", VALID)
    assert (cfg.prefix, cfg.emulated, cfg.s3_sink_flush_size, cfg.s3_sink_flavour) == ("kde", False, 3, "confluent")
    assert cfg.ports["console"] == 8085 and cfg.ports["airflow"] == 8080
    assert "moto" not in cfg.ports  # emulator ports only on emulated stacks
    assert cfg.dynamodb_datasets == ("cards", "users", "transactions")
    # the last records of a burst land within 5 s (wall-clock rotation), uncompressed
    assert (cfg.s3_sink_rotate_schedule_interval_ms, cfg.s3_sink_compression) == (5000, "none")


def test_wall_clock_rotation_can_be_turned_off_and_gzip_on() -> None:
    cfg = parse("dev", {**VALID, "s3SinkRotateScheduleIntervalMs": "0", "s3SinkCompression": "gzip"})
    assert (cfg.s3_sink_rotate_schedule_interval_ms, cfg.s3_sink_compression) == (None, "gzip")


@pytest.mark.parametrize(
    ("override", "key", "message"),
    [
        ({"awsRegion": None}, "awsRegion", "missing"),
        ({"awsRegion": "Sydney"}, "awsRegion", "not an AWS region"),
        ({"gcpProject": ""}, "gcpProject", "missing"),
        ({"gcpProject": "X"}, "gcpProject", "not a GCP project id"),
        ({"ports": {"kafka": 80}}, "ports.kafka", "outside 1024..65535"),
        ({"ports": {"kafka": "abc"}}, "ports.kafka", "not an integer"),
        ({"ports": {"console": 8080}}, "ports.airflow", "already used by ports.console"),
        ({"ports": {"kafak": 9093}}, "ports.kafak", "unknown service"),
        ({"ports": [9092]}, "ports", "expected a map"),
        ({"dynamodbDatasets": ["cards", "loans"]}, "dynamodbDatasets", "unknown dataset(s) loans"),
        ({"topicDatasets": []}, "topicDatasets", "non-empty list"),
        ({"emulated": "yes"}, "emulated", "not true or false"),
        ({"prefix": "KDE"}, "prefix", "lowercase"),
        ({"s3SinkFlavour": "camel"}, "s3SinkFlavour", "confluent, aiven"),
        ({"s3SinkFlushSize": "0"}, "s3SinkFlushSize", "outside"),
        ({"s3SinkRotateScheduleIntervalMs": "-1"}, "s3SinkRotateScheduleIntervalMs", "outside"),
        ({"s3SinkRotateScheduleIntervalMs": "5s"}, "s3SinkRotateScheduleIntervalMs", "not an integer"),
        ({"s3SinkCompression": "zstd"}, "s3SinkCompression", "none, gzip"),
        ({"subjectCompatibility": "SOMETIMES"}, "subjectCompatibility", "BACKWARD"),
        ({"images": {"zookeeper": "x"}}, "images.zookeeper", "unknown image"),
    ],
)
def test_invalid_values_name_the_key(override: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse("dev", {**VALID, **override})
    assert error.value.key == key
    assert f"modern-data-pipeline:{key}:" in str(error.value)
    assert message in str(error.value)


def test_emulator_ports_are_checked_only_when_emulated() -> None:
    clash = {**VALID, "ports": {"moto": 8080}}
    assert parse("dev", clash).ports["airflow"] == 8080
    with pytest.raises(ConfigError, match=r"ports\.moto"):
        parse("local", {**clash, "emulated": "true"})


def test_structured_values_and_strings_are_both_accepted() -> None:
    cfg = parse("local", {**VALID, "emulated": "true", "topicPartitions": "6", "ports": {"kafka": "19092"}})
    assert (cfg.emulated, cfg.topic_partitions, cfg.ports["kafka"], cfg.force_destroy) == (True, 6, 19092, True)
