"""The S3 sink connector that writes the streaming topics into the landing bucket, and reading it back.

`ensure_sink(outputs)` creates or updates the connector named in the outputs (`s3_sink.connector`, the seed's
`s3-sink-kde`) through the Connect REST API (components.connect.client, the same client Pulumi's dynamic
resource uses) and waits until it and its task run. Which config: the worker is asked which S3 sink plugin
it has: devstack's own plugin (devstack.services.connect.s3_sink_config), Confluent's (the Docker stacks,
components.connect.s3_sink, the seed's config) or Aiven's.

Where the sink writes (devstack and Confluent's DefaultPartitioner alike):
`s3://<s3_sink.bucket>/<s3_sink.prefix>/<topic>/partition=<p>/<topic>+<p>+<first offset:010d>.json`, one JSON
document per line, so every record's partition and offset are known from the object name and line number.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.common import add_outputs_arguments, outputs_from_args, s3_client

DEVSTACK_S3_SINK = "local.devstack.connect.s3.S3SinkConnector"


class SinkError(RuntimeError):
    pass


def connect_client(outputs: Mapping[str, Any]) -> Any:
    from components.connect.client import ConnectClient

    return ConnectClient(outputs["kafka_connect_url"], timeout_s=30.0)


def sink_config(outputs: dict[str, Any], plugins: set[str], **overrides: str) -> dict[str, str]:
    """The connector config for whichever S3 sink plugin the worker has."""
    if DEVSTACK_S3_SINK in plugins:
        from devstack.services.connect import s3_sink_config as devstack_config

        return devstack_config(outputs, **overrides)
    from components.connect.s3_sink import AIVEN_S3_SINK, CONFLUENT_S3_SINK, S3SinkSettings, s3_sink_config

    flavour = "confluent" if CONFLUENT_S3_SINK in plugins else "aiven" if AIVEN_S3_SINK in plugins else None
    if flavour is None:
        raise SinkError(f"the Connect worker at {outputs['kafka_connect_url']} has no S3 sink plugin")
    sink = outputs["s3_sink"]
    config = s3_sink_config(
        S3SinkSettings(
            topics=tuple(sink["topics"]),
            bucket=sink["bucket"],
            region=outputs["aws_region"],
            topics_dir=sink["prefix"],
            schema_registry_url=outputs["schema_registry_url"],
            endpoint_url=(outputs.get("endpoints") or {}).get("s3"),
            flavour=flavour,
        )
    )
    config.update(overrides)
    return config


def worker_plugins(client: Any) -> set[str]:
    response = client.request("GET", "/connector-plugins")
    if response.status_code != 200:
        raise SinkError(f"GET /connector-plugins: HTTP {response.status_code}: {response.text[:300]}")
    return {p["class"] for p in response.json()}


def ensure_sink(
    outputs: dict[str, Any],
    *,
    name: str | None = None,
    overrides: Mapping[str, str] | None = None,
    timeout_s: float = 120.0,
    report: Callable[[str], None] = lambda _msg: None,
) -> dict[str, str]:
    """Create the connector, or update it if its config differs; wait until it runs. Returns its config.
    `overrides` replace config keys (e.g. `{"topics": ..., "flush.size": ...}` for a test's own connector)."""
    client = connect_client(outputs)
    name = name or outputs["s3_sink"]["connector"]
    config = sink_config(outputs, worker_plugins(client), **(overrides or {}))
    existing = client.get(name)
    if existing is None:
        report(f"creating connector {name}")
        client.create(name, config)
    elif {k: v for k, v in existing["config"].items() if k != "name"} != config:
        report(f"updating connector {name}")
        client.put_config(name, config)
    else:
        report(f"connector {name} is up to date")
    client.wait_running(name, timeout_s=timeout_s)
    return config


def delete_sink(outputs: dict[str, Any], name: str) -> None:
    connect_client(outputs).delete(name)


@dataclass(frozen=True)
class SinkRecord:
    partition: int
    offset: int
    key: str  # the S3 object holding it
    value: dict[str, Any]


def end_offsets(outputs: Mapping[str, Any], topic: str) -> dict[int, int]:
    """The next offset of every partition of `topic`: records produced after this call have offsets >= these."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": outputs["kafka_bootstrap_servers"],
            "group.id": "pipelines-offsets",
            "enable.auto.commit": False,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = metadata.topics[topic].partitions if topic in metadata.topics else {}
        offsets = {}
        for p in partitions:
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            offsets[p] = high
        return offsets
    finally:
        consumer.close()


def sink_prefix(outputs: Mapping[str, Any], topic: str) -> str:
    return f"{outputs['s3_sink']['prefix'].strip('/')}/{topic}/"


def read_sink_records(
    outputs: dict[str, Any], topic: str, since: Mapping[int, int] | None = None, s3: Any = None
) -> list[SinkRecord]:
    """The records the sink wrote for `topic` (only offsets >= `since[partition]` when given), by partition
    and offset. Objects are named by their first offset, so an object that lies wholly before `since` is not
    downloaded at all."""
    s3 = s3 or s3_client(outputs)
    bucket = outputs["s3_sink"]["bucket"]
    records: dict[tuple[int, int], SinkRecord] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=sink_prefix(outputs, topic)):
        objects = sorted((o for o in page.get("Contents", []) if o["Key"].endswith(".json")), key=lambda o: o["Key"])
        for obj in objects:
            partition, first = _offsets_of(obj["Key"])
            floor = (since or {}).get(partition, 0)
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            for i, line in enumerate(body.splitlines()):
                if first + i >= floor and line.strip():
                    # a re-delivered batch rewrites the same object name: keyed by (partition, offset), no doubles
                    records[(partition, first + i)] = SinkRecord(partition, first + i, obj["Key"], json.loads(line))
    return [records[k] for k in sorted(records)]


def _offsets_of(key: str) -> tuple[int, int]:
    """`.../cards-data+2+0000000042.json` -> (2, 42)."""
    stem = key.rsplit("/", 1)[-1].removesuffix(".json")
    _topic, partition, offset = stem.rsplit("+", 2)
    return int(partition), int(offset)


def wait_for_records(
    outputs: dict[str, Any],
    topic: str,
    n: int,
    timeout: float = 120.0,
    since: Mapping[int, int] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> list[SinkRecord]:
    """Poll the bucket until at least `n` records (at or after `since`) of `topic` are there; raise on timeout."""
    s3 = s3_client(outputs)
    deadline = time.monotonic() + timeout
    while True:
        records = read_sink_records(outputs, topic, since, s3)
        if on_progress:
            on_progress(len(records))
        if len(records) >= n:
            return records
        if time.monotonic() >= deadline:
            raise SinkError(
                f"only {len(records)} of {n} records of {topic!r} reached "
                f"s3://{outputs['s3_sink']['bucket']}/{sink_prefix(outputs, topic)} within {timeout:.0f}s"
            )
        time.sleep(1.0)


DESCRIPTION = __doc__.split("\n\n", 1)[1] if __doc__ else ""
EPILOG = """\
examples:
  python -m pipelines sink --devstack              create/update s3-sink-kde on devstack's Connect, wait RUNNING
  python -m pipelines sink --devstack --flush-size 100
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_outputs_arguments(parser)
    parser.add_argument("--flush-size", type=int, help="records per S3 object (default: the connector's config)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for RUNNING (default 120)")


def run(args: argparse.Namespace) -> int:
    outputs = outputs_from_args(args)
    overrides = {"flush.size": str(args.flush_size)} if args.flush_size else {}
    config = ensure_sink(outputs, overrides=overrides, timeout_s=args.timeout, report=print)
    sink = outputs["s3_sink"]
    print(
        f"{sink['connector']} RUNNING: topics {config['topics']} -> s3://{sink['bucket']}/{sink['prefix']}/ "
        f"(flush.size {config.get('flush.size', '?')})"
    )
    return 0
