"""Every Kafka client the consumers build takes the stack's `kafka_auth` (MSK IAM on prod): the librdkafka config
of the loaders' producer (the one Kafka write path) and its topic-id probe."""

from __future__ import annotations

from typing import Any

import pytest

from contract.kafka_auth import AWS_MSK_IAM
from contract.outputs import validate_outputs
from tests.unit._stack_runs import stack_run

MSK = {"mechanism": AWS_MSK_IAM, "region": "ap-southeast-7"}


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
    outputs = validate_outputs({**stack_run("devstack").raw_outputs, "kafka_auth": MSK}, "the devstack stack's")
    with pytest.raises(Refused):
        sink.KafkaSink("users", outputs)
    with pytest.raises(Refused):
        sink.topic_id("b:9098", "users-data", client_settings={"security.protocol": "SASL_SSL"})
    assert [c.get("security.protocol") for c in seen] == ["SASL_SSL", "SASL_SSL"]
    assert seen[0]["sasl.mechanisms"] == "OAUTHBEARER" and callable(seen[0]["oauth_cb"])
