"""Apache Kafka broker, KRaft single node (broker + controller in one JVM), from Maven Central jars.

Install: devstack/jvm/kafka/pom.xml -> install/kafka/lib. Start: `kafka.tools.StorageTool format` once (the
data folder keeps its cluster id across restarts), then `kafka.Kafka server.properties`. Readiness is a real
produce/consume round trip.
"""

from __future__ import annotations

import base64
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from devstack.service import Service, ServiceError
from devstack.services import _jvm

HEALTH_TOPIC = "_devstack-health"


class KafkaBroker(Service):
    name = "kafka"
    port_names = ("kafka", "kafka_controller")
    description = "Apache Kafka broker, KRaft single node"
    start_timeout = 90.0
    heap_mb = 384

    @property
    def lib_dir(self) -> Path:
        return self.install_dir / "lib"

    @property
    def bootstrap(self) -> str:
        return f"{self.cfg.host}:{self.cfg.port('kafka')}"

    @property
    def config_file(self) -> Path:
        return self.run_dir / "server.properties"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "kraft"

    def is_installed(self) -> bool:
        return _jvm.is_complete(self.lib_dir)

    def install(self) -> None:
        _jvm.copy_dependencies(_jvm.JVM_DIR / "kafka" / "pom.xml", self.lib_dir, "kafka")

    def server_properties(self) -> dict[str, str]:
        host = self.cfg.host
        port, controller = self.cfg.port("kafka"), self.cfg.port("kafka_controller")
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{host}:{controller}",
            "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}",
            "advertised.listeners": f"PLAINTEXT://{host}:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.log_dir),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "5",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "log.retention.hours": "24",
        }

    def _java(self, main: str, *args: str) -> list[str]:
        log4j = self.run_dir / "log4j2.properties"
        return [
            _jvm.java_executable(),
            *_jvm.jvm_options(self.heap_mb, log4j),
            "-cp",
            _jvm.classpath(self.lib_dir),
            main,
            *args,
        ]

    def prepare(self) -> None:
        _jvm.write_log4j_config(self.run_dir)
        _jvm.write_properties(self.config_file, self.server_properties())
        if (self.log_dir / "meta.properties").exists():
            return
        # base64url may start with '-': passed as --cluster-id=ID so the tool never reads it as an option
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        cmd = self._java(
            "kafka.tools.StorageTool",
            "format",
            f"--cluster-id={cluster_id}",
            "-c",
            str(self.config_file),
            "--ignore-formatted",
        )
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise ServiceError(
                f"kafka: formatting the KRaft storage in {self.log_dir} failed:\n{proc.stdout}{proc.stderr}"
            )

    def command(self) -> list[str]:
        return self._java("kafka.Kafka", str(self.config_file))

    def ready(self) -> bool:
        return round_trip(self.bootstrap)

    def published(self) -> dict[str, Any]:
        return {"kafka_bootstrap_servers": self.bootstrap}


def round_trip(bootstrap: str, timeout: float = 10.0) -> bool:
    """Produce one record to the health topic and read that very record back."""
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

    marker = uuid.uuid4().hex.encode()
    # log_level 0: while the broker is still starting, every refused connection would be logged to stderr
    producer = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": int(timeout * 1000), "log_level": 0})
    delivered: list[tuple[int, int]] = []
    errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, msg: object) -> None:
        if err is not None:
            errors.append(err)
        else:
            delivered.append((msg.partition(), msg.offset()))  # type: ignore[attr-defined]

    producer.produce(HEALTH_TOPIC, value=marker, on_delivery=on_delivery)
    producer.flush(timeout)
    if errors or not delivered:
        return False
    partition, offset = delivered[0]
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "devstack-health", "enable.auto.commit": False, "log_level": 0}
    )
    try:
        consumer.assign([TopicPartition(HEALTH_TOPIC, partition, offset)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            if msg.value() == marker:
                return True
        return False
    finally:
        consumer.close()
