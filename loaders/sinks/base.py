"""What every sink offers the load loop: write a batch, report per-record failures, count what it holds."""

from __future__ import annotations

import ipaddress
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar, cast, runtime_checkable

from contract import errors
from contract.outputs import StackOutputs

Record = dict[str, Any]
T = TypeVar("T")


class LoadError(RuntimeError):
    """The load cannot start or go on (missing source, unknown target, no table, a name missing from the stack
    outputs); the message is one line that says what to do."""


class TargetUnreachable(LoadError, errors.TargetUnreachable):
    """The target's server does not answer: the message names the service and its address. Every further
    dataset would wait just as long, so the load stops."""


def unreachable(service: str, address: str, cause: object) -> TargetUnreachable:
    return cast(TargetUnreachable, errors.unreachable(service, address, cause, TargetUnreachable))


#: batches written at once to a server on another machine (a cloud service), which each lane waits on over the
#: network most of the time
REMOTE_LANES = 4


def lanes_for(hosts: list[str]) -> int:
    """How many batches a sink writes at once to the server at `hosts` (none: a cloud service with no endpoint in
    the outputs). A server on this machine (devstack's, an emulator) shares the cores with the load, so lanes
    beyond one per core only add switching (benchmarks/loaders.py measures it). MongoDB and Firestore ask this;
    DynamoDB measured otherwise (its `LANES`)."""
    if hosts and all(_on_this_machine(host) for host in hosts):
        return max(2, os.cpu_count() or 2)
    return REMOTE_LANES


def _on_this_machine(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name other than localhost: another machine, as far as we can tell without asking DNS
        return False


def endpoint_host(endpoint: str | None) -> list[str]:
    """The host of an emulator's endpoint (`http://host:port` or `host:port`); none for a cloud service."""
    return [errors.endpoint_host_port(endpoint)[0]] if endpoint else []


def probe_endpoint(service: str, endpoint: str | None, timeout_s: float = 10.0) -> None:
    errors.probe_endpoint(service, endpoint, timeout_s, TargetUnreachable)


#: the outputs' maps of dataset id to a collection, table or topic name
NameMap = Literal["mongodb_collections", "firestore_collections", "dynamodb_tables", "kafka_topics"]


def output_name(outputs: StackOutputs, key: NameMap, dataset: str) -> str:
    """`outputs[key][dataset]` (a collection, table or topic name), or a LoadError naming `key.dataset`."""
    names: object = outputs.get(key)
    if not isinstance(names, dict) or not names.get(dataset):
        have = ", ".join(names) if isinstance(names, dict) and names else "none"
        raise LoadError(
            f"stack outputs: no {key}.{dataset} (the outputs name {have}); "
            "declare it in the stack config and run `make up`, or write the outputs file again"
        )
    return str(names[dataset])


@dataclass
class BatchResult:
    written: int = 0
    skipped: int = 0  # already delivered before (checkpoint)
    failed: list[tuple[Record, str]] = field(default_factory=list)


class Sink(Protocol):
    """A sink may also say `lanes = N`: the load loop then calls `write` from N threads at once (a key always in
    the same thread, so per-key order holds). Without it, `write` is called from the loop's own thread."""

    target: str
    where: str  # e.g. "kde-db.kde-finance-cards-data on mongodb://…": shown in the summary

    def write(self, records: list[Record]) -> BatchResult: ...

    def finish(self) -> BatchResult:
        """Wait for what is in flight (Kafka deliveries); returns late results."""
        ...

    def count(self) -> int | None:
        """How many records the target holds now (None where it cannot tell cheaply)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class JsonSink(Sink, Protocol):
    """A sink that sends a record's JSON as it is (Kafka): the load loop hands it the source lines its
    validator found certainly valid (loaders.validate), without parsing them into Records first."""

    @property
    def json_prefix(self) -> bytes:
        """What each value starts with, before the record's JSON (Kafka: the registry's frame)."""
        ...

    def write_json(self, ids: list[bytes], values: list[bytes]) -> BatchResult:
        """Send each value (`json_prefix`, then one JSON object, validated) under its id (UTF-8)."""
        ...


@runtime_checkable
class DocumentSink(Sink, Protocol):
    """A sink that stores a record as a document holding its id under `id_field` (MongoDB's `_id`) and writes
    documents as they are: the load loop builds them straight from the lines its validator found certainly
    valid, the id spliced into the JSON before it is parsed, sparing a copy of every record and its id twice."""

    id_field: str

    def document(self, record: Record) -> Record:
        """The record's document: its id under `id_field`, then the record's fields."""
        ...

    def write_documents(self, docs: list[Record]) -> BatchResult:
        """`write` for documents; a failure names the record (the document without `id_field`)."""
        ...


@runtime_checkable
class BsonDocumentSink(DocumentSink, Protocol):
    """A DocumentSink whose client sends BSON documents as they are (MongoDB): the load loop hands it the
    documents the compiled check wrote (loaders.validate, `accepted_documents`) instead of parsing lines."""

    def from_bson(self, docs: list[bytes]) -> list[Record]:
        """The documents (each one BSON document, `id_field` first) as the client takes them unencoded."""
        ...


def with_retries(
    call: Callable[[], T],
    retryable: tuple[type[BaseException], ...],
    attempts: int = 5,
    final: tuple[type[BaseException], ...] = (),
) -> T:
    """`call()`, retried with exponential backoff and jitter on the service's retryable errors; `final`: the
    retryable errors not worth retrying (a server that did not answer within the client's own timeout)."""
    delay = 0.2
    for attempt in range(attempts):
        try:
            return call()
        except retryable as exc:
            if attempt == attempts - 1 or isinstance(exc, final):
                raise
            time.sleep(delay + random.random() * delay)
            delay = min(delay * 2, 5.0)
    raise AssertionError("unreachable")
