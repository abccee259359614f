"""The topic calls the provider makes, through confluent-kafka's AdminClient: create, describe (partitions,
replication, configs), add partitions, alter configs, delete. A client per provider call (the provider keeps
none: Pulumi pickles it); confluent_kafka is imported on first use, not by a preview that never calls a broker.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from typing import Any, NamedTuple

TIMEOUT_S = 30.0


class LiveTopic(NamedTuple):
    partitions: int
    replication_factor: int
    configs: dict[str, str]  # the values of the configs asked for


def _wait(futures: Mapping[Any, Any]) -> None:
    for future in futures.values():
        future.result(timeout=TIMEOUT_S)


class TopicAdmin:
    def __init__(self, bootstrap_servers: str) -> None:
        from confluent_kafka.admin import AdminClient

        # log_level 4: warnings and errors only, not librdkafka's notices on teardown in every preview's output
        self._admin = AdminClient({"bootstrap.servers": bootstrap_servers, "socket.timeout.ms": 10000, "log_level": 4})

    def create(self, topic: str, partitions: int, replication_factor: int, configs: dict[str, str]) -> None:
        """Create the topic; a RuntimeError naming the broker's error (TOPIC_ALREADY_EXISTS for one that exists)."""
        from confluent_kafka.admin import NewTopic

        new = NewTopic(topic, num_partitions=partitions, replication_factor=replication_factor, config=configs)
        try:
            _wait(self._admin.create_topics([new], operation_timeout=TIMEOUT_S))
        except Exception as exc:
            # the future keeps the error, whose traceback keeps the frames that keep the future (and this client):
            # a cycle that only the garbage collector would free, with the client's broker threads running till then
            traceback.clear_frames(exc.__traceback__)
            message = f"create topic {topic}: {exc} (an existing topic can be adopted with the `import` option)"
            raise RuntimeError(message) from exc

    def describe(self, topic: str, owned_configs: set[str]) -> LiveTopic | None:
        """The topic as the broker has it, with the values of `owned_configs`; None when it does not exist."""
        from confluent_kafka.admin import ConfigResource, ResourceType

        # every topic's metadata, not the one's: asking for a missing topic by name lets a broker with
        # auto.create.topics.enable (devstack's) create it, and a deleted topic would never read as gone
        metadata = self._admin.list_topics(timeout=TIMEOUT_S).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return None
        partitions = metadata.partitions
        replication = len(next(iter(partitions.values())).replicas) if partitions else 0
        resource = ConfigResource(ResourceType.TOPIC, topic)
        live = self._admin.describe_configs([resource])[resource].result(timeout=TIMEOUT_S)
        configs = {k: entry.value for k, entry in live.items() if k in owned_configs}
        return LiveTopic(len(partitions), replication, configs)

    def add_partitions(self, topic: str, total: int) -> None:
        from confluent_kafka.admin import NewPartitions

        _wait(self._admin.create_partitions([NewPartitions(topic, total)]))

    def alter_configs(self, topic: str, new: dict[str, str], removed: list[str]) -> None:
        """Set `new`, and take `removed` back to the broker's defaults."""
        from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

        entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in new.items()]
        entries += [ConfigEntry(k, None, incremental_operation=AlterConfigOpType.DELETE) for k in removed]
        resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries)
        _wait(self._admin.incremental_alter_configs([resource]))

    def delete(self, topic: str) -> None:
        # the client stays referenced (self) until the future resolves: a collected AdminClient fails it
        # with "Handle is terminating"
        _wait(self._admin.delete_topics([topic], operation_timeout=TIMEOUT_S))
