"""Firestore: batched commits of at most 500 writes (the API's limit), document id = the record's id from
schemas/; on emulators the outputs' `endpoints.firestore` becomes FIRESTORE_EMULATOR_HOST. (BulkWriter is not
used: the emulator we test against silently drops its writes.)"""

from __future__ import annotations

from contract.clients import firestore_client
from contract.outputs import StackOutputs
from loaders.sinks.base import BatchResult, Record, endpoint_host, lanes_for, output_name, probe_endpoint, with_retries
from schemas import load as load_schema

MAX_BATCH = 500


class FirestoreSink:
    target = "firestore"

    def __init__(self, dataset: str, outputs: StackOutputs) -> None:
        name = output_name(outputs, "firestore_collections", dataset)
        endpoint = (outputs.get("endpoints") or {}).get("firestore")
        probe_endpoint("firestore", endpoint)
        self.schema = load_schema(dataset)
        self.lanes = lanes_for(endpoint_host(endpoint))  # batches at once: the gRPC channel takes concurrent commits
        self.client = firestore_client(outputs)
        self.collection = self.client.collection(name)
        self.where = f"{outputs['firestore_database']}/{name}"

    def write(self, records: list[Record]) -> BatchResult:
        from google.api_core import exceptions

        result = BatchResult()
        for start in range(0, len(records), MAX_BATCH):
            chunk = records[start : start + MAX_BATCH]

            def commit(chunk: list[Record] = chunk) -> None:
                batch = self.client.batch()
                for record in chunk:
                    batch.set(self.collection.document(self.schema.document_id(record)), record)
                batch.commit()

            retryable = (exceptions.ServiceUnavailable, exceptions.DeadlineExceeded, exceptions.ResourceExhausted,
                         exceptions.Aborted)  # fmt: skip
            try:
                with_retries(commit, retryable)
                result.written += len(chunk)
            except exceptions.GoogleAPICallError as exc:
                result.failed += [(r, f"firestore: {exc.message}") for r in chunk]
        return result

    def finish(self) -> BatchResult:
        return BatchResult()

    def count(self) -> int | None:
        return int(self.collection.count().get()[0][0].value)

    def close(self) -> None:
        self.client.close()
