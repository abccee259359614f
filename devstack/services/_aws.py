"""boto3 clients for devstack's AWS emulators, signed with the emulated account's keys (devstack.account)."""

from __future__ import annotations

from typing import Any

from devstack import account

#: a readiness probe or provisioning call fails fast instead of retrying with back-off
CONFIG = {"connect_timeout": 2, "read_timeout": 10, "retries": {"max_attempts": 1}}


def client(service: str, url: str) -> Any:
    import boto3
    from botocore.config import Config

    creds = account.FAKE_AWS_CREDENTIALS
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=account.AWS_REGION,
        aws_access_key_id=creds["access_key_id"],
        aws_secret_access_key=creds["secret_access_key"],
        config=Config(**CONFIG),  # type: ignore[arg-type]
    )


def published(url_key: str, url: str) -> dict[str, Any]:
    """What every AWS emulator publishes: the region, the keys and its own endpoint."""
    return {
        "aws_region": account.AWS_REGION,
        "endpoints": {url_key: url},
        "aws_credentials": dict(account.FAKE_AWS_CREDENTIALS),
    }
