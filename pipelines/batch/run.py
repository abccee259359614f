"""Run the batch pipeline: per dataset and lake, one dlt pipeline MongoDB collection -> the S3 or the GCS landing
bucket (each lake has its own pipeline, so its own incremental state, kept in that lake).

Shared by the CLI (`python -m pipelines batch`), the Airflow DAG (one task per dataset), the demo and the
benchmark, so all of them run exactly the same code.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.lake_layout import GcsTarget, LakeTarget
from pipelines.batch.settings import FILE_FORMATS, BatchSettings
from pipelines.common import work_dir
from schemas import DATASETS


class SchemaContractViolation(RuntimeError):
    """The data broke the dataset's schema contract (a new field, an impossible type change): nothing was
    loaded for that dataset, and its pending package was aborted so the next run extracts afresh."""

    def __init__(self, dataset: str, detail: str) -> None:
        self.dataset = dataset
        self.detail = detail
        super().__init__(
            f"{dataset}: the data breaks the schema contract, nothing was loaded: {detail}\n"
            f"Fix the documents, or change schemas/{dataset}.json if the field is meant to be there "
            f"(or run with --contract discard_row to load the conforming rows only)."
        )


@dataclass(frozen=True)
class DatasetLoad:
    """What one run did for one dataset."""

    dataset: str
    table: str
    write_disposition: str
    rows: int  # rows dlt extracted and loaded in this run (only the new ones for an incremental dataset)
    files: int  # files written to the bucket in this run
    load_id: str | None  # None when there was nothing to load
    seconds: float
    location: str  # s3://bucket/prefix/dataset_name/table/ (gs://... in GCS)
    lake: str = "s3"


def dlt_data_dir() -> Path:
    """dlt's working folder: `$DLT_DATA_DIR` if set, else `<work dir>/dlt` (never dlt's /var/dlt as root)."""
    explicit = os.environ.get("DLT_DATA_DIR")
    path = Path(explicit) if explicit else work_dir() / "dlt"
    path.mkdir(parents=True, exist_ok=True)
    return path


def configure_dlt_environment() -> Path:
    """Telemetry off, a project-local data dir and no probing of Airflow's Variables for a dlt secrets.toml
    (settings come from the stack outputs; outside a task Airflow 3 logs that probe as an error with tracebacks),
    before dlt reads its configuration."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
    # gcsfs otherwise asks the bucket over gRPC whether it is hierarchical: a long hang on emulators
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    data_dir = dlt_data_dir()
    os.environ.setdefault("DLT_DATA_DIR", str(data_dir))
    return data_dir


def filesystem_destination(target: LakeTarget) -> Any:
    """dlt's filesystem destination on a landing bucket: emulator endpoint (+ keys), or the cloud's default chain."""
    if isinstance(target, GcsTarget):
        return gcs_destination(target)
    from dlt.common.configuration.specs import AwsCredentials
    from dlt.destinations import filesystem

    credentials = AwsCredentials()
    credentials.region_name = target.region
    if target.endpoint_url:
        credentials.endpoint_url = target.endpoint_url
        credentials.s3_url_style = "path"
    if target.access_key_id:
        credentials.aws_access_key_id = target.access_key_id
        credentials.aws_secret_access_key = target.secret_access_key  # type: ignore[assignment]
    # without static keys the spec stays partial and dlt resolves botocore's default chain (profile, SSO, role)
    return partial_config_once(filesystem(bucket_url=target.bucket_url, credentials=credentials))


def gcs_destination(target: GcsTarget) -> Any:
    """The GCS lake: on an emulator anonymous access (gcsfs `token="anon"`) at its endpoint; on GCP the default
    credential chain (dlt finds it and leaves the token to gcsfs)."""
    from dlt.common.configuration.specs import GcpServiceAccountCredentials
    from dlt.destinations import filesystem

    credentials = GcpServiceAccountCredentials()
    credentials.project_id = target.project  # type: ignore[assignment]
    if not target.endpoint_url:
        return partial_config_once(filesystem(bucket_url=target.bucket_url, credentials=credentials))
    from google.auth.credentials import AnonymousCredentials

    # given "default" credentials, dlt passes no token of its own and gcsfs takes the `anon` one below; with
    # a key or the machine's default chain it would try to sign requests to the emulator with Google's OAuth
    credentials._set_default_credentials(AnonymousCredentials())  # type: ignore[no-untyped-call]
    credentials.resolve()
    kwargs = {"endpoint_url": target.endpoint_url, "token": "anon"}
    return partial_config_once(filesystem(bucket_url=target.bucket_url, credentials=credentials, kwargs=kwargs))


def partial_config_once(destination: Any) -> Any:
    """`destination` (one run's) resolving its partial configuration once: dlt asks for the destination's
    capabilities ~20 times a run and each time resolves that configuration from the environment again, from the
    same explicit values (a good part of a run's fixed cost). The full configuration, which the load's
    client gets, is still resolved on every call."""
    resolve = destination.configuration
    resolved: dict[str, Any] = {}

    def configuration(initial_config: Any, accept_partial: bool = False) -> Any:
        if not accept_partial:
            return resolve(initial_config, accept_partial)
        if "partial" not in resolved:
            resolved["partial"] = resolve(initial_config, accept_partial=True)
        return resolved["partial"]

    destination.configuration = configuration  # this instance only: dlt's class keeps its own
    return destination


def mongo_client(uri: str) -> Any:
    """A client that fails instead of waiting forever: a stuck server becomes an error the DAG retries."""
    import pymongo

    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000, socketTimeoutMS=120_000)


def run_dataset(
    settings: BatchSettings,
    dataset: str,
    *,
    file_format: str = "parquet",
    contract: str = "freeze",
    pipelines_dir: Path | None = None,
    client: Any = None,
    arrow: bool = True,
    readers: int | None = None,
    lake: str = "s3",
) -> DatasetLoad:
    """Extract one dataset's collection and load it into one lake's bucket (`lake`: s3 or gcs); raises dlt's
    errors (contract, load).
    `arrow` (parquet only): pages go to dlt as Arrow tables; False: as rows, through dlt's normalize.
    `readers`: parallel queries for a collection with an integer cursor (default: one per two cores).

    By default dlt works in a scratch folder, so the incremental state always comes from the bucket: a lake
    that was emptied (devstack restarted, bucket recreated) is loaded again in full instead of being
    skipped by a stale local cursor, which dlt does not wipe while other datasets share the lake dataset."""
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file format {file_format!r}: expected one of {', '.join(FILE_FORMATS)}")
    data_dir = configure_dlt_environment()
    if pipelines_dir is None:
        with tempfile.TemporaryDirectory(prefix="run-", dir=data_dir) as scratch:
            return run_dataset(
                settings, dataset, file_format=file_format, contract=contract, pipelines_dir=Path(scratch),
                client=client, arrow=arrow, readers=readers, lake=lake,
            )  # fmt: skip
    import dlt

    from pipelines.batch.mongodb import MixedPages, mongodb_source, write_disposition
    from schemas import load as load_schema

    target = settings.lake_target(lake)
    owns_client = client is None
    if client is None:
        client = mongo_client(settings.mongodb_uri)
    started = time.monotonic()
    try:
        pipeline = dlt.pipeline(
            pipeline_name=settings.pipeline_name(dataset, lake),
            pipelines_dir=str(pipelines_dir),
            destination=filesystem_destination(target),
            dataset_name=settings.dataset_name,
        )
        source = mongodb_source(
            client,
            settings.mongodb_database,
            settings.collections,
            [dataset],
            name=f"mongodb_{dataset}",
            contract=contract,
            arrow=arrow and file_format == "parquet",
            readers=readers,
        )
        try:
            info = pipeline.run(source, loader_file_format=file_format)  # type: ignore[arg-type]
        except Exception as exc:
            if readers != 1 and caused_by(exc, MixedPages):  # bad data in a parallel read: pages in cursor order
                return run_dataset(
                    settings, dataset, file_format=file_format, contract=contract, pipelines_dir=pipelines_dir,
                    client=client, arrow=arrow, readers=1, lake=lake,
                )  # fmt: skip
            detail = contract_violation(exc)
            if detail is None:
                raise
            # dlt keeps a failed package pending and retries it (ignoring new data) on every later run: a
            # contract violation would fail forever, so the package is aborted and the next run re-extracts
            pipeline.abort_packages()
            raise SchemaContractViolation(dataset, detail) from exc
    finally:
        if owns_client:
            client.close()
    trace = pipeline.last_trace
    normalize = trace.last_normalize_info if trace else None
    rows = int(normalize.row_counts.get(dataset, 0)) if normalize else 0
    jobs = [j for package in info.load_packages for j in package.jobs["completed_jobs"]]
    files = sum(1 for j in jobs if j.job_file_info.table_name == dataset)
    return DatasetLoad(
        dataset=dataset,
        table=dataset,
        write_disposition=write_disposition(load_schema(dataset)),
        rows=rows,
        files=files,
        load_id=info.loads_ids[-1] if info.loads_ids else None,
        seconds=time.monotonic() - started,
        location=f"{lake_scheme(target)}://{target.bucket}/{target.table_prefix(settings.dataset_name, dataset)}",
        lake=lake,
    )


def lake_scheme(target: LakeTarget) -> str:
    return "gs" if isinstance(target, GcsTarget) else "s3"


#: how dlt words a data error in a normalize job's message (the exception itself stays in the worker)
_CONTRACT_MESSAGES = ("Contract on", "Cannot coerce NULL")


def causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it wraps (dlt's step failures hold the original in `exception`)."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        yield node
        node = getattr(node, "exception", None) or node.__cause__ or node.__context__


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    return any(isinstance(node, kind) for node in causes(exc))


def contract_violation(exc: BaseException) -> str | None:
    """The contract message inside a dlt step failure (an unknown field, an impossible type change, a null in a
    required column), or None if the failure is something else (network, credentials...)."""
    from dlt.common.schema.exceptions import CannotCoerceNullException, DataValidationError

    for node in causes(exc):
        if isinstance(node, DataValidationError | CannotCoerceNullException):
            return str(node)
        # normalize runs in worker processes: the error comes back as a message (NormalizeJobFailed)
        message = getattr(node, "failed_message", None)
        if isinstance(message, str) and any(m in message for m in _CONTRACT_MESSAGES):
            return message
    return None


def run_batch(
    settings: BatchSettings,
    datasets: Sequence[str] | None = None,
    *,
    file_format: str = "parquet",
    contract: str = "freeze",
    pipelines_dir: Path | None = None,
    on_done: Callable[[DatasetLoad], None] | None = None,
    readers: int | None = None,
    lakes: Sequence[str] | None = None,
) -> list[DatasetLoad]:
    """Every dataset that has a collection in the outputs (or those named), one after the other, into every
    lake of the stack (or those named), each dataset into each lake in turn."""
    chosen = list(datasets) if datasets else [d for d in DATASETS if d in settings.collections]
    into = list(lakes) if lakes else list(settings.lakes)

    client = mongo_client(settings.mongodb_uri)
    loads: list[DatasetLoad] = []
    try:
        for dataset in chosen:
            for lake in into:
                load = run_dataset(
                    settings,
                    dataset,
                    file_format=file_format,
                    contract=contract,
                    pipelines_dir=pipelines_dir,
                    client=client,
                    readers=readers,
                    lake=lake,
                )
                loads.append(load)
                if on_done:
                    on_done(load)
    finally:
        client.close()
    return loads
