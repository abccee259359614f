"""`python -m stacks offsets list|rewind|reset`: the S3 sink's committed offsets, as code (KIP-875).

The connector, its worker and the worker's login come from the stack outputs (`s3_sink.connector`,
`kafka_connect_url`, `kafka_connect_auth`); the logic is components.connect.offsets.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from components.connect.client import ConnectClient, ConnectError
from components.connect.offsets import SinkOffset, reset, rewind, sink_offsets
from components.connect.status import STATES
from contract.outputs import OutputsError, read_outputs

CONNECTOR_TYPE = "pulumi-python:dynamic/kafka-connect:Connector"
EPILOG = """\
examples:
  python -m stacks offsets list                                  where the sink is, per topic and partition
  python -m stacks offsets rewind --topic transactions-data      read the whole topic again
  python -m stacks offsets rewind --topic transactions-data --partition 2 --to-offset 1000
  python -m stacks offsets reset                                 read every topic again from its start
  python -m stacks offsets list --outputs devstack.json          outputs from a file instead of the stack

How a change runs: the connector is stopped (Kafka Connect alters offsets only then), the offsets are written,
and the connector is brought back to the state the stack declares for it (--then to choose another; with
--outputs FILE, the state it was in). A sink's offset is the next record it reads; a partition rewound
without --to-offset reads from the earliest record the topic still holds.

Why rewind: objects lost from the lake come back. devstack's S3 sink writes again only the batches S3 no longer
holds whole, so a rewound range already in S3 is not written twice; check with `python -m pipelines reconcile`.
On the prod stack (MSK Connect) offsets cannot be changed through its API: see docs/connector-operations.md.
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m stacks offsets",
        description="List, rewind or reset the S3 sink connector's offsets (the connector of the stack outputs).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=("list", "rewind", "reset"), help="list offsets, rewind a topic, reset all")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--stack", help="the Pulumi stack whose outputs name the connector (default devstack)")
    source.add_argument("--outputs", help="a stack outputs JSON file (`python -m stacks outputs --file F`)")
    p.add_argument("--topic", help="rewind: the topic to read again")
    p.add_argument("--partition", type=int, help="rewind: only this partition of --topic")
    p.add_argument("--to-offset", type=int, help="rewind: the offset to read from (default: the topic's start)")
    p.add_argument("--then", choices=STATES, help="the state to leave the connector in (default: the declared one)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each state (default 120)")
    return p


def declared_state(stack: str, connector: str) -> str | None:
    """The state the stack declares for `connector`, from its state file (None if not found)."""
    from pulumi import automation as auto

    from stacks.engine import EngineError, select_stack

    try:
        deployment = select_stack(stack).export_stack().deployment
    except (EngineError, auto.errors.CommandError):
        return None
    return state_declared_in(deployment, connector)


def state_declared_in(deployment: Mapping[str, Any] | None, connector: str) -> str | None:
    """The `state` input of `connector`'s resource in an exported deployment: the declared state as of the last
    `up` (a refresh alone records the live state there, which the next `up` brings back to the declared one)."""
    for resource in (deployment or {}).get("resources", []):
        inputs = resource.get("inputs") or {}
        if resource.get("type") == CONNECTOR_TYPE and inputs.get("name") == connector:
            state = inputs.get("state")
            return str(state) if state in STATES else None
    return None


def is_msk_connect(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host.startswith("kafkaconnect.") and host.endswith(".amazonaws.com")


def table(offsets: list[SinkOffset]) -> str:
    if not offsets:
        return "no committed offsets (the sink has read nothing yet, or they were reset)"
    rows = [("topic", "partition", "offset")] + [
        (o.topic, str(o.partition), "start" if o.offset is None else str(o.offset)) for o in offsets
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{t:<{width}}  {p:>9}  {n:>10}" for t, p, n in rows)


def run(args: argparse.Namespace, report: Any = print) -> int:
    stack = None if args.outputs else (args.stack or "devstack")
    outputs = read_outputs(stack, args.outputs)
    if is_msk_connect(outputs["kafka_connect_url"]):
        raise ConnectError(
            f"{outputs['kafka_connect_url']} is MSK Connect's API, which has no offsets (nor pause or stop): "
            "see docs/connector-operations.md for what to do on prod"
        )
    client, name = ConnectClient.from_outputs(outputs), outputs["s3_sink"]["connector"]
    if args.action == "list":
        report(table(sink_offsets(client, name)))
        return 0
    then = args.then or (declared_state(stack, name) if stack else None)
    if args.action == "rewind":
        if not args.topic:
            raise ConnectError("rewind needs --topic (and optionally --partition, --to-offset)")
        written = rewind(client, name, args.topic, args.partition, args.to_offset, then, args.timeout)
        report(f"{name}: rewound\n{table(written)}")
    else:
        report(f"{name}: {reset(client, name, then, args.timeout) or 'offsets reset'}")
    return 0


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args)
    except (ConnectError, OutputsError) as exc:
        print(f"stacks offsets: {exc}", file=sys.stderr)
    return 1
