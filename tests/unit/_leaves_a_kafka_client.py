"""Not part of the suite (no test_ prefix): tests/unit/test_leak_checks.py runs it in a pytest session of its own,
with KAFKA_CLIENT_LEAK saying how its clients end: 'kept' (a producer still referenced at the end), 'cycle' (a
producer in a reference cycle, freed only by the garbage collector) or 'none' (each closed or freed at once)."""

from __future__ import annotations

import os
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

#: nothing listens there; log_level 0 keeps librdkafka's connection errors off the output
CONFIG: dict[str, str | int | float | bool] = {"bootstrap.servers": "127.0.0.1:9", "log_level": 0}
_kept: list[Any] = []


class Holder:
    """Holds its producer, whose delivery callback is one of its methods: a reference cycle."""

    def __init__(self) -> None:
        self.producer = Producer({**CONFIG, "on_delivery": self.delivered})

    def delivered(self, *_args: Any) -> None:
        pass


def test_opens_kafka_clients() -> None:
    leak = os.environ["KAFKA_CLIENT_LEAK"]
    Consumer({**CONFIG, "group.id": "leak-check"}).close()
    AdminClient(CONFIG)  # freed at once: its only reference goes at the end of this line
    producer = Producer(CONFIG)
    if leak == "kept":
        _kept.append(producer)
    elif leak == "cycle":
        Holder()
    else:
        producer.close()
        holder = Holder()
        holder.producer.close()
