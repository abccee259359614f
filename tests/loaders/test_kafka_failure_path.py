"""A Kafka producer that cannot start closes every librdkafka handle it opened: the producer's, and the consumer
its topic reader opened. Left to the garbage collector, a handle's threads go on reconnecting to the dead broker
(and printing a line for each attempt) after the load has said it stopped, up to the end of the process.

Counted in a child process, where nothing else starts threads: the OS threads (librdkafka's are native, so not in
`threading`) before and after a start against a dead broker, with the garbage collector off."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from pipelines.common import REPO_ROOT

SCRIPT = r"""
import gc, json, os, sys, time
from loaders.sinks.base import LoadError
from loaders.sinks.kafka import SchemaRegistryJsonProducer
from schemas import load as load_schema

def threads():
    return len(os.listdir("/proc/self/task"))

gc.disable()  # what is not closed stays alive, as it would until some later collection
before = threads()
try:
    SchemaRegistryJsonProducer(sys.argv[1], sys.argv[2], "no-topic", load_schema("cards"), sys.argv[3])
    error = None
except LoadError as exc:
    error = str(exc)
deadline = time.monotonic() + 30  # librdkafka's threads end shortly after the close returns
while threads() > before and time.monotonic() < deadline:
    time.sleep(0.1)
print(json.dumps({"error": error, "before": before, "after": threads()}))
"""


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_a_producer_that_cannot_reach_its_broker_leaves_no_librdkafka_thread(tmp_path: Path) -> None:
    broker, registry = f"127.0.0.1:{_dead_port()}", f"http://127.0.0.1:{_dead_port()}"
    checkpoint = str(tmp_path / "checkpoint")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, broker, registry, checkpoint],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["error"] and "does not answer" in result["error"], result
    assert result["after"] == result["before"], result


def test_a_kafka_exception_s_reason_is_one_line_whether_it_holds_an_error_or_a_string() -> None:
    from confluent_kafka import KafkaError, KafkaException

    from contract.errors import kafka_error_text

    error = KafkaError(KafkaError._TRANSPORT, "Connect to ipv4#127.0.0.1:1 failed:\n  Connection refused")
    assert kafka_error_text(KafkaException(error)) == "Connect to ipv4#127.0.0.1:1 failed: Connection refused"
    # confluent-kafka raises some with a plain string: `.str()` on it was an AttributeError that hid the reason
    assert kafka_error_text(KafkaException("Failed to get metadata: timed out")) == "Failed to get metadata: timed out"
    assert kafka_error_text(KafkaException()) == "KafkaException"
