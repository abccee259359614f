"""A sink connector's committed offsets (KIP-875): list them, rewind a topic or one partition, reset them all.

Kafka Connect changes offsets only while the connector is STOPPED, so every change here is: stop, wait until
STOPPED, alter (PATCH) or reset (DELETE), then bring the connector to the state it is declared in (or the one
it was in) and wait for it. A sink's offset is the next record it reads: rewinding a partition to N makes the
sink read again from N; a partition rewound without a target offset is reset, and the sink then starts from the
earliest record the topic still holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from components.connect.client import ConnectClient, ConnectError
from components.connect.status import DEFAULT_STATE, STATES, live_state


@dataclass(frozen=True, order=True)
class SinkOffset:
    topic: str
    partition: int
    offset: int | None  # None: no committed offset (the sink reads from the earliest record)

    def request(self) -> dict[str, Any]:
        """This offset as a PATCH /offsets entry (a None offset resets the partition)."""
        offset = None if self.offset is None else {"kafka_offset": self.offset}
        return {"partition": {"kafka_topic": self.topic, "kafka_partition": self.partition}, "offset": offset}


def sink_offsets(client: ConnectClient, name: str) -> list[SinkOffset]:
    """The sink's committed offsets, sorted by topic and partition."""
    found = []
    for entry in client.offsets(name):
        partition, offset = entry.get("partition") or {}, entry.get("offset") or {}
        value = offset.get("kafka_offset")
        topic, number = str(partition["kafka_topic"]), int(partition["kafka_partition"])
        found.append(SinkOffset(topic, number, None if value is None else int(value)))
    return sorted(found)


def rewound(current: list[SinkOffset], topic: str, partition: int | None, to_offset: int | None) -> list[SinkOffset]:
    """The offsets a rewind writes: every committed partition of `topic` (or only `partition`) moved back to
    `to_offset` (None: reset to the topic's start). A rewind never moves a partition forward."""
    if partition is not None:
        known = {o.partition: o for o in current if o.topic == topic}
        targets = [known.get(partition, SinkOffset(topic, partition, None))]
    else:
        targets = [o for o in current if o.topic == topic]
        if not targets:
            topics = ", ".join(sorted({o.topic for o in current})) or "none"
            raise ConnectError(f"no committed offsets for topic {topic} (topics with offsets: {topics})")
    result = []
    for target in targets:
        if to_offset is not None and target.offset is not None and to_offset > target.offset:
            where = f"{target.topic}/{target.partition}"
            raise ConnectError(f"a rewind moves back only: {where} is at {target.offset}, --to-offset {to_offset}")
        result.append(SinkOffset(topic, target.partition, to_offset))
    return result


def while_stopped(
    client: ConnectClient, name: str, change: Callable[[], str], then: str | None = None, timeout_s: float = 120.0
) -> str:
    """Stop the connector, run `change` (an offsets call), then bring it to `then` (default: the state it was
    in, RUNNING if it was failing). Returns `change`'s message."""
    before = live_state(client.status(name))
    target = then or (before if before in STATES else DEFAULT_STATE)
    client.set_state(name, "STOPPED")
    client.wait_state(name, "STOPPED", timeout_s)
    try:
        message = change()
    finally:
        client.set_state(name, target)
    client.wait_state(name, target, timeout_s)
    return message


def rewind(
    client: ConnectClient,
    name: str,
    topic: str,
    partition: int | None = None,
    to_offset: int | None = None,
    then: str | None = None,
    timeout_s: float = 120.0,
) -> list[SinkOffset]:
    """Rewind `topic` (or one partition of it) to `to_offset` (None: its start); returns what was written."""
    targets = rewound(sink_offsets(client, name), topic, partition, to_offset)
    while_stopped(client, name, lambda: client.alter_offsets(name, [t.request() for t in targets]), then, timeout_s)
    return targets


def reset(client: ConnectClient, name: str, then: str | None = None, timeout_s: float = 120.0) -> str:
    """Reset every offset of the connector: it reads every topic again from the start."""
    return while_stopped(client, name, lambda: client.reset_offsets(name), then, timeout_s)
