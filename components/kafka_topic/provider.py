"""`TopicProvider`: check, diff, create (or adopt), refresh, update and delete of one Kafka topic.

Partitions can only grow in place; fewer partitions declared or another replication factor replace the topic.
A topic that already exists (e.g. left by a stack whose state was lost, or created by hand) is adopted on create
when its partitions and replication allow it: Pulumi's `import` cannot adopt a dynamic resource.

Refresh (`read`) reports the live partition count, replication and the live values of the configs the stack
owns (those it declares: a broker default or a config set by someone else is not the stack's, so never drift).
Partitions added behind the stack's back cannot be taken away again: a live count above the declared one
fails the diff with one line saying so, rather than replacing (deleting) the topic or updating it on every run.
The outputs carry `declared_partitions`, what the stack last asked for, to tell that drift from a declared
decrease.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from components.kafka_topic.client import TopicAdmin

_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
INPUTS = ("bootstrap_servers", "topic", "partitions", "replication_factor", "configs")


def whole_numbers(props: dict[str, Any]) -> dict[str, Any]:
    """Integers cross the engine's gRPC boundary as doubles (protobuf Struct): 3 arrives as 3.0."""
    fixed = dict(props)
    for key in ("partitions", "replication_factor", "declared_partitions"):
        value = fixed.get(key)
        if isinstance(value, float) and value.is_integer():
            fixed[key] = int(value)
    return fixed


def topic_failures(news: dict[str, Any]) -> list[CheckFailure]:
    failures = []
    topic = news.get("topic")
    if not isinstance(topic, str) or not _TOPIC.match(topic) or topic in (".", ".."):
        failures.append(CheckFailure("topic", f"{topic!r}: 1-249 of letters, digits, '.', '_', '-'"))
    if not news.get("bootstrap_servers"):
        failures.append(CheckFailure("bootstrap_servers", "required (host:port[,host:port])"))
    for key in ("partitions", "replication_factor"):
        value = news.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            failures.append(CheckFailure(key, f"{value!r}: a positive integer is required"))
    for key, value in (news.get("configs") or {}).items():
        if not isinstance(value, str):
            failures.append(CheckFailure(f"configs.{key}", f"{value!r}: topic config values are strings"))
    return failures


class PartitionDrift(RuntimeError):
    """More partitions live than declared, and the declaration did not shrink: only a person can settle it."""


def fewer_partitions_declared(olds: dict[str, Any], news: dict[str, Any]) -> bool:
    """Whether the declared count went down (a replacement: Kafka cannot remove partitions). Raises when the live
    count is above a declaration that did not go down: partitions were added behind the stack's back."""
    live, declared = olds.get("partitions"), news.get("partitions", 0)
    if not isinstance(live, int) or declared >= live:
        return False
    before = olds.get("declared_partitions")
    if isinstance(before, int) and declared < before:
        return True
    raise PartitionDrift(
        f"topic {news.get('topic')}: {live} partitions live, {declared} declared; Kafka cannot remove partitions: "
        f"declare partitions={live}, or delete the topic (and its records) for the stack to recreate it"
    )


def topic_diff(olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
    replaces = [k for k in ("topic", "bootstrap_servers", "replication_factor") if olds.get(k) != news.get(k)]
    if fewer_partitions_declared(olds, news):
        replaces.append("partitions")
    changed = replaces or [k for k in ("partitions", "configs") if (olds.get(k) or None) != (news.get(k) or None)]
    return DiffResult(changes=bool(changed), replaces=replaces, stables=[], delete_before_replace=True)


def recorded(props: dict[str, Any]) -> dict[str, Any]:
    """A create's or update's outputs: the inputs, and the partition count the stack declared."""
    return {**props, "declared_partitions": props["partitions"]}


class TopicProvider(ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        news = whole_numbers(news)
        return CheckResult(news, topic_failures(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return topic_diff(whole_numbers(olds), whole_numbers(news))

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = whole_numbers(props)
        if not self._create(props):
            return self._adopt(props)
        return CreateResult(id_=props["topic"], outs=recorded(props))

    @staticmethod
    def _create(props: dict[str, Any]) -> bool:
        """Create the topic; False when it exists already (its client is gone by the time it is adopted)."""
        admin = TopicAdmin(props["bootstrap_servers"])
        try:
            admin.create(
                props["topic"], props["partitions"], props["replication_factor"], dict(props.get("configs") or {})
            )
        except RuntimeError as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
            return False
        return True

    def _adopt(self, props: dict[str, Any]) -> CreateResult:
        live = self.read(props["topic"], dict(props))
        if live.id is None or live.outs is None:
            raise RuntimeError(f"topic {props['topic']}: exists, then vanished while adopting it")
        if live.outs["replication_factor"] != props["replication_factor"] or (
            live.outs["partitions"] > props["partitions"]
        ):
            raise RuntimeError(
                f"topic {props['topic']} exists with {live.outs['partitions']} partitions, replication "
                f"{live.outs['replication_factor']}: cannot adopt it as {props['partitions']}/"
                f"{props['replication_factor']} (delete it or change the stack)"
            )
        self.update(props["topic"], live.outs, props)
        return CreateResult(id_=props["topic"], outs=recorded(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        live = TopicAdmin(props["bootstrap_servers"]).describe(id_, set(props.get("configs") or {}))
        if live is None:
            return ReadResult(None, {})
        live_props = {"topic": id_, **live._asdict()}
        inputs = {k: props[k] for k in INPUTS if k in props}
        # the live values as inputs too: a preview's diff then names what drifted, not just the resource
        return ReadResult(id_, {**props, **live_props}, {**inputs, **live_props})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        olds, news = whole_numbers(olds), whole_numbers(news)
        admin = TopicAdmin(news["bootstrap_servers"])
        if news["partitions"] > olds.get("partitions", 0):
            admin.add_partitions(news["topic"], news["partitions"])
        old_configs, new_configs = olds.get("configs") or {}, news.get("configs") or {}
        removed = [k for k in old_configs if k not in new_configs]
        if (new_configs or removed) and old_configs != new_configs:
            admin.alter_configs(news["topic"], new_configs, removed)
        return UpdateResult(recorded(news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        TopicAdmin(props["bootstrap_servers"]).delete(id_)
