"""Kafka Connect (devstack): the S3 sink is created, runs, is updated and deleted through the REST API, and
SR-serialized JSON records land in the S3 emulator as the producer's original JSON, one document per line."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from _streaming_records import cards_record, cards_schema_str, unique_topic

from contract import naming
from contract.clients import s3_client
from contract.s3_sink import S3SinkSettings, s3_sink_config
from devstack.services.connect import S3_SINK_CLASS

pytestmark = pytest.mark.devstack


def sink_config(substrate: dict[str, Any], topic: str, flush_size: int = 3) -> dict[str, str]:
    """The S3 sink config for devstack's plugin (the flavour the substrate publishes); the worker resolves its
    keys from its own environment (`${env:...}` references)."""
    built = s3_sink_config(
        S3SinkSettings(
            topics=(topic,),
            bucket=substrate["s3_buckets"]["landing"],
            region=substrate["aws_region"],
            topics_dir=naming.S3_SINK_PREFIX,
            schema_registry_url=substrate["schema_registry_url"],
            flush_size=flush_size,
            endpoint_url=substrate["endpoints"]["s3"],
            flavour=substrate["s3_sink_flavour"],
        )
    )
    return {**built.config, **built.secret_config}


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def rest_auth(substrate: dict[str, Any]) -> tuple[str, str]:
    """The Connect REST API's basic-auth login devstack publishes."""
    login = substrate["kafka_connect_auth"]
    return login["username"], login["password"]


def running(base: str, name: str, auth: tuple[str, str]) -> bool:
    resp = requests.get(f"{base}/connectors/{name}/status", auth=auth, timeout=5)
    if resp.status_code != 200:
        return False
    status = resp.json()
    tasks = status.get("tasks", [])
    return status["connector"]["state"] == "RUNNING" and bool(tasks) and all(t["state"] == "RUNNING" for t in tasks)


def test_s3_sink_lifecycle_lands_original_json(devstack: Any) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.json_schema import JSONSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    outputs = devstack("connect", "registry")
    base, auth = outputs["kafka_connect_url"], rest_auth(outputs)
    bucket = outputs["s3_buckets"]["landing"]
    topic = unique_topic("devstack-connect-test")
    name = f"s3-sink-test-{uuid.uuid4().hex[:6]}"
    prefix = f"{naming.S3_SINK_PREFIX}/{topic}/"
    s3 = s3_client(outputs)

    config = sink_config(outputs, topic, flush_size=3)
    resp = requests.post(f"{base}/connectors", json={"name": name, "config": config}, auth=auth, timeout=30)
    assert resp.status_code == 201, resp.text
    try:
        wait_for(lambda: running(base, name, auth), 60, f"connector {name} RUNNING")

        serialize = JSONSerializer(cards_schema_str(), SchemaRegistryClient({"url": outputs["schema_registry_url"]}))
        ctx = SerializationContext(topic, MessageField.VALUE)
        records = [cards_record(i) for i in (10, 11, 12)]
        payloads = [serialize(r, ctx) for r in records]
        assert all(p is not None and p[:1] == b"\x00" for p in payloads), "expected the SR wire format"
        producer = Producer({"bootstrap.servers": outputs["kafka_bootstrap_servers"]})
        for record, payload in zip(records, payloads, strict=True):
            producer.produce(topic, key=str(record["id"]), value=payload, partition=0)
        assert producer.flush(15) == 0

        def objects() -> list[str]:
            return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]

        keys = wait_for(objects, 60, f"an object under s3://{bucket}/{prefix}")
        assert keys == [f"{prefix}partition=0/{topic}+0+0000000000.json"]
        body = s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()
        lines = body.splitlines()
        # byte for byte the documents the producer serialized, without the 5-byte wire-format prefix
        assert lines == [p[5:] for p in payloads if p is not None]
        assert [json.loads(line) for line in lines] == records

        # update: one record per object from now on
        updated = {**config, "flush.size": "1"}
        resp = requests.put(f"{base}/connectors/{name}/config", json=updated, auth=auth, timeout=30)
        assert resp.status_code == 200, resp.text

        def stored_config() -> dict[str, Any] | None:
            # Connect answers 409 while the workers rebalance after the update: asked again, not a failure
            got = requests.get(f"{base}/connectors/{name}/config", auth=auth, timeout=5)
            return got.json() if got.status_code == 200 else None

        assert wait_for(stored_config, 30, f"connector {name}'s config")["flush.size"] == "1"
        wait_for(lambda: running(base, name, auth), 60, f"connector {name} RUNNING after the update")
        extra = cards_record(13)
        producer.produce(topic, key="13", value=serialize(extra, ctx), partition=0)
        assert producer.flush(15) == 0
        keys = wait_for(lambda: [k for k in objects() if k.endswith("+0000000003.json")], 60, "the 4th record")
        assert json.loads(s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()) == extra
    finally:
        resp = requests.delete(f"{base}/connectors/{name}", auth=auth, timeout=30)
    assert resp.status_code == 204, resp.text
    wait_for(lambda: requests.get(f"{base}/connectors/{name}", auth=auth, timeout=5).status_code == 404, 30, "deletion")
    assert name not in requests.get(f"{base}/connectors", auth=auth, timeout=5).json()


def test_plugin_is_listed_and_validates_its_config(devstack: Any) -> None:
    outputs = devstack("connect")
    base, auth = outputs["kafka_connect_url"], rest_auth(outputs)
    plugins = requests.get(
        f"{base}/connector-plugins", params={"connectorsOnly": "false"}, auth=auth, timeout=10
    ).json()
    classes = {p["class"] for p in plugins}
    assert S3_SINK_CLASS in classes
    assert "local.devstack.connect.s3.SchemaRegistryJsonConverter" in classes

    config = sink_config(outputs, "cards-data")
    del config["s3.bucket.name"]
    resp = requests.put(
        f"{base}/connector-plugins/{S3_SINK_CLASS.rsplit('.', 1)[-1]}/config/validate",
        json=config,
        auth=auth,
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result["error_count"] >= 1
    bucket = next(c for c in result["configs"] if c["value"]["name"] == "s3.bucket.name")
    assert bucket["value"]["errors"], "a missing bucket name must be reported"
