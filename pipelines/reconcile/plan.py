"""Which stores hold a dataset on this stack: the source files when given, then every sink the stack outputs
have a place for, then the lakes (dlt's table for the MongoDB datasets in S3 and, where the stack has a GCS landing
bucket, in GCS; the S3 sink's objects for the streamed topics). The first stage present is the reference the
others are compared with."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from contract.lake_layout import GcsTarget, S3Target, gcs_landing_target
from contract.outputs import StackOutputs
from pipelines.reconcile.stores import Store
from pipelines.reconcile.stores.databases import DynamoStore, FirestoreStore, MongoStore
from pipelines.reconcile.stores.files import SourceFile, source_path
from pipelines.reconcile.stores.kafka import KafkaStore
from pipelines.reconcile.stores.lake import DltLakeStore, GcsLakeStore, SinkLakeStore
from pipelines.reconcile.stores.warehouse import SilverStore, readable
from schemas import load as load_schema

STAGES = ("source", "mongodb", "firestore", "dynamodb", "kafka", "lake-dlt", "lake-gcs", "lake-s3-sink", "silver")
#: read only when a scope names them: the warehouse is built after the lake, by the transform DAG
ON_REQUEST = ("silver",)
DEFAULT_STAGES = tuple(s for s in STAGES if s not in ON_REQUEST)


@dataclass(frozen=True)
class Scope:
    """What one run covers: the source folder, the stages, and where the partial stages start."""

    source_dir: Path | None = None
    stages: Sequence[str] = DEFAULT_STAGES
    since_load_id: str | None = None
    #: Kafka: only records the broker stamped from then on (unix seconds; `--since`); the stage is then partial
    kafka_since_time: float | None = None
    #: topic -> partition -> where the current copy of the dataset starts (a producer that re-sends it whole, as
    #: the demo's, leaves the earlier copies before these offsets)
    kafka_since: Mapping[str, Mapping[int, int]] = field(default_factory=dict)
    #: only the S3 sink's objects written from then on (tells a re-created topic's objects from its predecessor's)
    sink_written_since: datetime | None = None
    #: where dlt's tables are (the batch pipeline's bucket and prefix); None: the outputs' landing bucket, `dlt/`
    dlt_target: S3Target | None = None
    #: the same in the GCS lake; None: the outputs' GCS landing bucket (if any), `dlt/`
    gcs_target: GcsTarget | None = None
    #: (dataset, stage) pairs left out, e.g. a topic the loaders do not fill because the producer streams it
    exclude: frozenset[tuple[str, str]] = frozenset()


def stores_for(dataset: str, outputs: StackOutputs, scope: Scope, s3: Any) -> list[Store]:
    schema = load_schema(dataset)
    topic: str = (outputs.get("kafka_topics") or {}).get(dataset) or ""
    collection = (outputs.get("mongodb_collections") or {}).get(dataset)
    candidates: dict[str, Any] = {
        "source": scope.source_dir and source_path(scope.source_dir, dataset).exists(),
        "mongodb": collection,
        "firestore": (outputs.get("firestore_collections") or {}).get(dataset),
        "dynamodb": (outputs.get("dynamodb_tables") or {}).get(dataset),
        "kafka": topic,
        "lake-dlt": collection,
        "lake-gcs": collection if (scope.gcs_target or gcs_landing_target(outputs)) else None,
        "lake-s3-sink": topic if topic in (outputs.get("s3_sink") or {}).get("topics", []) else None,
        "silver": collection if readable(outputs, dataset) else None,
    }
    build: dict[str, Callable[[], Store]] = {
        "source": lambda: SourceFile(source_path(scope.source_dir or Path(), dataset)),
        "mongodb": lambda: MongoStore(outputs, candidates["mongodb"]),
        "firestore": lambda: FirestoreStore(outputs, candidates["firestore"]),
        "dynamodb": lambda: DynamoStore(outputs, candidates["dynamodb"]),
        "kafka": lambda: KafkaStore(outputs, topic, schema, scope.kafka_since.get(topic), scope.kafka_since_time),
        "lake-dlt": lambda: DltLakeStore(outputs, s3, dataset, scope.since_load_id, scope.dlt_target),
        "lake-gcs": lambda: GcsLakeStore(outputs, dataset, scope.since_load_id, scope.gcs_target),
        "lake-s3-sink": lambda: SinkLakeStore(
            outputs, s3, topic, scope.kafka_since.get(topic), scope.sink_written_since
        ),
        "silver": lambda: SilverStore(outputs, dataset),
    }
    wanted = [s for s in STAGES if s in scope.stages and (dataset, s) not in scope.exclude]
    return [build[stage]() for stage in wanted if candidates[stage]]
