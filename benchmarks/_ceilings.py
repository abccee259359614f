"""The load ceilings of `python -m benchmarks loaders`: per target, the same client's fastest bulk call on
records shaped beforehand (no validation, no idempotence), and the variants shown beside them. Each returns the
run to time; what it prepares before returning is outside the clock."""

from __future__ import annotations

import json
import os
from functools import partial
from typing import Any

#: threads (MongoDB: connections) the ceiling contenders write with, chosen for the machine: one per core (on 2
#: cores more threads were no faster for MongoDB or Firestore). `--ceiling-threads` sets another N.
CEILING_THREADS = max(2, os.cpu_count() or 2)
CHUNK = 500


def _in_threads(chunks: list[Any], write: Any, threads: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write, chunks))


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


def mongodb_ceiling(
    records: list[dict[str, Any]], outputs: dict[str, Any], threads: int = CEILING_THREADS, encoded: bool = False
) -> Any:
    """insert_many(ordered=False) of ready documents over `threads` pooled connections; `encoded`: the
    documents as BSON encoded before the clock starts (RawBSONDocument), as ours sends what its check wrote."""
    import bson
    import pymongo
    from bson.raw_bson import RawBSONDocument

    from schemas import load as load_schema

    schema = load_schema("transactions")
    docs: list[Any] = [{"_id": schema.document_id(r), **r} for r in records]
    if encoded:
        docs = [RawBSONDocument(bson.encode(doc)) for doc in docs]
    collection = outputs["mongodb_collections"]["transactions"]

    def run() -> None:
        client: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(outputs["mongodb_uri"], maxPoolSize=threads) as client:
            coll: Any = client[outputs["mongodb_database"]][collection]
            # insert_many adds nothing to documents that carry an _id, so the same list serves every run
            _in_threads(_chunks(docs), lambda chunk: coll.insert_many(chunk, ordered=False), threads)

    return run


def dynamodb_ceiling(records: list[dict[str, Any]], outputs: dict[str, Any], threads: int = CEILING_THREADS) -> Any:
    """BatchWriteItem of 25 items per call on the low-level client, unprocessed ones re-sent, in `threads`
    threads. The items are typed for the wire inside the run, as pymongo's BSON and Firestore's protobuf
    encoding are in theirs: a client cannot send a record any other way (only Kafka's bytes are prepared)."""
    from boto3.dynamodb.types import TypeSerializer

    from contract.clients import dynamodb_client
    from loaders.sinks.dynamodb import to_item

    table = outputs["dynamodb_tables"]["transactions"]
    batches = [records[i : i + 25] for i in range(0, len(records), 25)]

    def run() -> None:
        clients = [dynamodb_client(outputs) for _ in range(threads)]
        serialize = TypeSerializer().serialize

        def write(index_batch: tuple[int, list[dict[str, Any]]]) -> None:
            index, batch = index_batch
            items = [{"PutRequest": {"Item": {k: serialize(v) for k, v in to_item(r).items()}}} for r in batch]
            pending: dict[str, Any] = {table: items}
            while pending:
                pending = clients[index % threads].batch_write_item(RequestItems=pending)["UnprocessedItems"]

        _in_threads(list(enumerate(batches)), write, threads)

    return run


def firestore_ceiling(records: list[dict[str, Any]], outputs: dict[str, Any], threads: int = CEILING_THREADS) -> Any:
    """Batched commits of 500 ready documents in `threads` threads, one client."""
    from contract.clients import firestore_client
    from schemas import load as load_schema

    schema = load_schema("transactions")
    docs = [(schema.document_id(r), r) for r in records]

    def run() -> None:
        client = firestore_client(outputs)
        collection = client.collection(outputs["firestore_collections"]["transactions"])

        def commit(chunk: list[tuple[str, dict[str, Any]]]) -> None:
            batch = client.batch()
            for doc_id, record in chunk:
                batch.set(collection.document(doc_id), record)
            batch.commit()

        _in_threads(_chunks(docs), commit, threads)
        client.close()

    return run


def kafka_ceiling(
    records: list[dict[str, Any]], outputs: dict[str, Any], threads: int = 1, checked: bool = False
) -> Any:
    """Produce of pre-serialized key and JSON value bytes, same producer settings as ours, no registry, from one
    thread (`threads` is not used: librdkafka sends from its own). `checked`: the keys and values are what the
    loaders' compiled check makes of the records' JSON lines within the run (1 MB blocks checked in a thread
    ahead of the sends, as ours does), the least a validated load must add, without exactly-once or the registry."""
    from confluent_kafka import Producer

    from contract.kafka_auth import kafka_auth_config
    from loaders.sinks.kafka_producer import FAST_RECONNECT, POLL_EVERY
    from schemas import load as load_schema

    schema = load_schema("transactions")
    payloads = [] if checked else [(schema.document_id(r).encode(), json.dumps(r).encode()) for r in records]
    topic = outputs["kafka_topics"]["transactions"]
    settings = {"bootstrap.servers": outputs["kafka_bootstrap_servers"], "enable.idempotence": True, "acks": "all",
                "linger.ms": 20, "compression.type": "lz4", **FAST_RECONNECT, **kafka_auth_config(outputs)}  # fmt: skip
    blocks = _line_blocks(records) if checked else []

    def produce_all(producer: Any, pairs: Any) -> None:
        for sent, (key, value) in enumerate(pairs, start=1):
            while True:
                try:
                    producer.produce(topic, value, key)  # positional: cheaper per call than keywords
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    producer.poll(0.05)
            if sent % POLL_EVERY == 0:  # as often as ours polls
                producer.poll(0)

    def run() -> None:
        producer = Producer(settings)
        # metadata first, as ours does: a first produce to a topic the client knows nothing of waits for it
        producer.list_topics(topic, timeout=10)
        if checked:
            for ids, values in _checked_blocks(schema, blocks):
                produce_all(producer, zip(ids, values, strict=True))
        else:
            produce_all(producer, payloads)
        if producer.flush(120):
            raise RuntimeError("kafka ceiling: messages still undelivered after 120 s")

    return run


def _line_blocks(records: list[dict[str, Any]], size: int = 1 << 20) -> list[bytes]:
    """The records as compact JSON lines (as the converter writes them), in blocks of whole lines of ~`size`."""
    import orjson

    blocks, block = [], bytearray()
    for record in records:
        block += orjson.dumps(record) + b"\n"
        if len(block) >= size:
            blocks.append(bytes(block))
            block = bytearray()
    return [*blocks, bytes(block)] if block else blocks


def _checked_blocks(schema: Any, blocks: list[bytes]) -> Any:
    """(ids, values) of each block as the loaders' check accepts them, checked in a thread ahead of the caller."""
    from loaders.background import read_ahead
    from loaders.validate import RecordValidator

    validator = RecordValidator(schema)

    def check() -> Any:
        for block in blocks:
            ids, values, left, _lines = validator.accepted_block(block, 1, len(block))
            if left:
                raise RuntimeError(f"kafka ceiling: the check left {len(left)} lines to the full check")
            yield ids, values

    return read_ahead(check(), name="ceiling-checker")


CEILINGS = {"mongodb": mongodb_ceiling, "dynamodb": dynamodb_ceiling, "firestore": firestore_ceiling,
            "kafka": kafka_ceiling}  # fmt: skip
#: further contenders per target, each timed and tabled beside the ceiling: MongoDB's ceiling encodes its dicts
#: within the run (the client's work for a document), ours sends the BSON its compiled check wrote, so the
#: ceiling with that work done beforehand is shown too. Kafka's ceiling sends bytes made before its clock; with
#: the lines checked in the run it pays what any validated load pays, and the rest of ours is exactly-once and
#: the registry: the two parts of the gap, measured apart
VARIANTS = {
    "mongodb": {"ceiling, BSON encoded beforehand": partial(mongodb_ceiling, encoded=True)},
    "kafka": {"ceiling, lines checked in the run": partial(kafka_ceiling, checked=True)},
}
