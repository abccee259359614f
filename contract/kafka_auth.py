"""librdkafka settings for the stack output `kafka_auth` (contract/outputs.py).

`null`: the brokers take plaintext clients (every stack but `prod`), nothing to add. `AWS_MSK_IAM` (stack
`prod`): SASL_SSL with OAUTHBEARER, whose token confluent-kafka asks `oauth_cb` for; the callback signs one
with `aws_msk_iam_sasl_signer` from the client's default AWS credential chain (role, profile or environment).
The signing is local (SigV4 of a presigned `kafka-cluster:Connect` URL), so no AWS call happens until the
broker checks the token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

AWS_MSK_IAM = "AWS_MSK_IAM"
MECHANISMS = (AWS_MSK_IAM,)


def msk_iam_token(region: str) -> tuple[str, float]:
    """An MSK IAM auth token and its expiry in seconds since the epoch (what confluent-kafka's oauth_cb returns)."""
    from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

    token, expiry_ms = MSKAuthTokenProvider.generate_auth_token(region)
    return token, expiry_ms / 1000


def _oauth_cb(region: str) -> Callable[[Any], tuple[str, float]]:
    return lambda _oauthbearer_config: msk_iam_token(region)


def kafka_auth_config(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The client settings `outputs["kafka_auth"]` asks for (`{}` when it is null or absent)."""
    auth = outputs.get("kafka_auth")
    if not auth:
        return {}
    mechanism = auth.get("mechanism")
    if mechanism != AWS_MSK_IAM:
        raise ValueError(f"kafka_auth.mechanism {mechanism!r} is not one of {', '.join(MECHANISMS)}")
    return {
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "OAUTHBEARER",
        "oauth_cb": _oauth_cb(str(auth["region"])),
    }
