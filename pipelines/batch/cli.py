"""`python -m pipelines batch`: MongoDB -> the S3 and GCS lakes with dlt, once, from the command line."""

from __future__ import annotations

import argparse

from contract.lake_layout import DEFAULT_PREFIX
from pipelines.batch.mongodb import CONTRACT_MODES, MAX_READERS
from pipelines.batch.settings import FILE_FORMATS, LAKES
from pipelines.common import add_outputs_arguments, outputs_from_args
from schemas import DATASETS

DESCRIPTION = """\
Load MongoDB collections into the landing buckets with dlt: S3's, and GCS's when the stack outputs name one
(`gcs_buckets.landing`), one dlt pipeline per dataset and lake.

Transactions (a cursor in schemas/transactions.json) load incrementally: each run appends only documents
whose id is above the last loaded one. The other datasets are replaced on every run. Columns and types come
from schemas/: a new field or an impossible type change stops that dataset's load with the column named
(--contract discard_row drops such rows instead). Files land under
s3://<landing bucket>/<prefix>/mongodb/<dataset>/ (and gs://<GCS landing bucket>/<prefix>/mongodb/<dataset>/)
as parquet (default) or gzipped JSON lines.
"""

EPILOG = """\
examples:
  python -m pipelines batch --stack devstack                 every dataset of the local platform
  python -m pipelines batch --outputs local.json --datasets transactions --format jsonl
  python -m pipelines batch --stack dev                      real AWS and GCP (default credential chains)
  python -m pipelines batch --stack devstack --lake gcs      only the GCS lake

dlt's incremental state lives in each lake's bucket and is restored from there on every run (the local working
folder under .out/dlt/ or $DLT_DATA_DIR is scratch), so any machine continues where the last run stopped,
and an emptied lake is loaded again in full. Telemetry is off.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_outputs_arguments(parser)
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=DATASETS,
        metavar="DATASET",
        help=f"which datasets (default: every one with a collection in the outputs): {', '.join(DATASETS)}",
    )
    parser.add_argument("--format", choices=FILE_FORMATS, default="parquet", help="file format (default: parquet)")
    parser.add_argument(
        "--contract",
        choices=CONTRACT_MODES,
        default="freeze",
        help="what a new field or a type change does: freeze (default) stops the load and names the column; "
        "discard_row / discard_value drop the row / the value; evolve accepts it",
    )
    parser.add_argument(
        "--prefix", default=DEFAULT_PREFIX, help=f"key prefix in the landing bucket (default: {DEFAULT_PREFIX})"
    )
    parser.add_argument("--bucket", help="another S3 bucket than the outputs' landing bucket")
    parser.add_argument(
        "--lake",
        action="append",
        choices=LAKES,
        help="only this lake (repeat; default: every lake the stack has a landing bucket in)",
    )
    parser.add_argument("--database", help="another MongoDB database than the outputs' mongodb_database")
    parser.add_argument(
        "--readers",
        type=positive_int,
        help="parallel queries per collection with an integer cursor (default: one per two cores, at most "
        f"{MAX_READERS}); 1 reads each collection with one query",
    )


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: expected a whole number of at least 1")
    return value


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from pipelines.batch.run import DatasetLoad, SchemaContractViolation, run_batch
    from pipelines.batch.settings import settings_from_outputs

    console = Console(width=None if Console().is_terminal else 140)
    settings = settings_from_outputs(
        outputs_from_args(args), bucket=args.bucket, prefix=args.prefix, database=args.database
    )
    lakes = args.lake or list(settings.lakes)
    unknown = [lake for lake in lakes if lake not in settings.lakes]
    if unknown:
        console.print(f"[red]no {', '.join(unknown)} landing bucket in the stack outputs[/]")
        return 2
    places = ", ".join(f"{settings.lakes[lake].bucket_url}/{settings.dataset_name}" for lake in lakes)
    console.print(
        f"[bold]batch[/] MongoDB {settings.mongodb_database} -> {places} ({args.format}, contract {args.contract})"
    )

    def done(load: DatasetLoad) -> None:
        console.print(
            f"  {load.dataset} -> {load.lake}: {load.rows:,} rows in {load.files} file(s), {load.seconds:.1f}s"
        )

    try:
        with console.status("extracting, normalizing and loading ..."):
            loads = run_batch(
                settings, args.datasets, file_format=args.format, contract=args.contract, on_done=done,
                readers=args.readers, lakes=lakes,
            )  # fmt: skip
    except SchemaContractViolation as exc:
        console.print(f"[red]schema contract:[/] {exc}")
        return 2
    table = Table(title="MongoDB -> lakes (this run)")
    for col in ("dataset", "lake", "disposition", "rows", "files", "seconds", "location"):
        table.add_column(col, justify="right" if col in ("rows", "files", "seconds") else "left")
    for load in loads:
        seconds = f"{load.seconds:.1f}"
        table.add_row(
            load.dataset, load.lake, load.write_disposition, f"{load.rows:,}", str(load.files), seconds, load.location
        )
    console.print(table)
    return 0
