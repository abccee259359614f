"""Every Kafka client the consumers build takes the stack's `kafka_auth` (MSK IAM on prod): the producer pipeline's
settings, and the librdkafka config of the loaders' producer and its topic-id probe."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from contract.kafka_auth import AWS_MSK_IAM
from pipelines.streaming.producer import settings_from_args
from tests.unit._stack_runs import stack_run

MSK = {"mechanism": AWS_MSK_IAM, "region": "ap-southeast-7"}


def _args(tmp_path: Path) -> argparse.Namespace:
    source = tmp_path / "cards.jsonl"
    source.write_text("{}\n")
    return argparse.Namespace(
        dataset="cards",
        bootstrap_servers=None,
        schema_registry=None,
        topic=None,
        source_path=str(source),
        schema_path=None,
        rows=None,
        streaming_interval=0.0,
        loop=False,
        quarantine=None,
        checkpoint=None,
    )


def test_the_producer_pipeline_takes_msk_iam_from_the_outputs(tmp_path: Path) -> None:
    outputs = {**stack_run("devstack").raw_outputs, "kafka_auth": MSK}
    settings = settings_from_args(_args(tmp_path), outputs)
    assert settings.client_settings["security.protocol"] == "SASL_SSL"
    assert settings.client_settings["sasl.mechanisms"] == "OAUTHBEARER"
    plain = settings_from_args(_args(tmp_path), dict(stack_run("devstack").raw_outputs))
    assert plain.client_settings == {}


def test_the_loaders_producer_and_topic_probe_pass_the_auth_settings_to_librdkafka(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import confluent_kafka
    import confluent_kafka.admin

    from loaders.sinks import kafka as sink

    seen: list[dict[str, Any]] = []

    class Refused(Exception):
        pass

    def record(config: dict[str, Any]) -> Any:
        seen.append(config)
        raise Refused

    monkeypatch.setattr(confluent_kafka, "Producer", record)
    monkeypatch.setattr(confluent_kafka.admin, "AdminClient", record)
    outputs = {**stack_run("devstack").raw_outputs, "kafka_auth": MSK}
    with pytest.raises(Refused):
        sink.KafkaSink("users", outputs)
    with pytest.raises(Refused):
        sink.topic_id("b:9098", "users-data", client_settings={"security.protocol": "SASL_SSL"})
    assert [c.get("security.protocol") for c in seen] == ["SASL_SSL", "SASL_SSL"]
    assert seen[0]["sasl.mechanisms"] == "OAUTHBEARER" and callable(seen[0]["oauth_cb"])
