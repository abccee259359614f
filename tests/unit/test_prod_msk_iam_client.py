"""The MSK IAM client path of stack `prod` (contract.kafka_auth): the token signed locally, and confluent-kafka as
installed here taking it."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from contract import kafka_auth
from contract.clients import kafka_config
from tests.unit._prod_stack import REGION, prod


@pytest.fixture
def dummy_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's credential chain stops at the environment: dummy keys, no profile, no instance metadata."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLEDUMMY0000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "dummy-secret-key-for-local-signing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


def test_null_kafka_auth_adds_nothing() -> None:
    assert kafka_config({"kafka_bootstrap_servers": "h:9092"}) == {"bootstrap.servers": "h:9092"}
    assert kafka_config({"kafka_bootstrap_servers": "h:9092", "kafka_auth": None}, **{"group.id": "g"}) == {
        "bootstrap.servers": "h:9092",
        "group.id": "g",
    }


def test_an_unknown_mechanism_is_refused() -> None:
    with pytest.raises(ValueError, match="SCRAM"):
        kafka_auth.kafka_auth_config({"kafka_auth": {"mechanism": "SCRAM", "region": REGION}})


@pytest.mark.usefixtures("dummy_aws_credentials")
def test_msk_iam_token_is_signed_locally_for_the_region() -> None:
    token, expiry = kafka_auth.msk_iam_token(REGION)
    url = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    parts = urlsplit(url)
    assert parts.hostname == f"kafka.{REGION}.amazonaws.com"
    query = parse_qs(parts.query)
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLEDUMMY0000/") and REGION in query["X-Amz-Credential"][0]
    assert time.time() < expiry < time.time() + 3600


@pytest.mark.usefixtures("dummy_aws_credentials")
def test_producer_accepts_the_msk_iam_config_and_its_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from confluent_kafka import Producer

    calls: list[str] = []
    signer = kafka_auth.msk_iam_token

    def spy(region: str) -> tuple[str, float]:
        calls.append(region)
        return signer(region)

    monkeypatch.setattr(kafka_auth, "msk_iam_token", spy)
    outputs = {**prod().raw_outputs, "kafka_bootstrap_servers": "127.0.0.1:1"}  # nothing listens: no broker
    errors: list[str] = []
    config = kafka_config(outputs, **{"client.id": "unit", "error_cb": lambda error: errors.append(error.str())})
    assert (config["security.protocol"], config["sasl.mechanisms"]) == ("SASL_SSL", "OAUTHBEARER")
    producer = Producer(config)  # librdkafka asks oauth_cb for a token before it connects
    try:
        deadline = time.monotonic() + 60  # against a hang only: the refusal comes at once
        while not errors and time.monotonic() < deadline:
            producer.poll(0.2)
    finally:
        producer.close()
    assert calls and set(calls) == {REGION}
    # with the token taken, it went on to the outputs' broker over SASL_SSL (and found nobody there); a refused
    # token would be an OAUTHBEARER error instead
    assert errors and errors[0].startswith("sasl_ssl://127.0.0.1:1/"), errors
    assert not [e for e in errors if "OAUTHBEARER" in e.upper() or "token" in e.lower()], errors
