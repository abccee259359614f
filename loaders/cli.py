"""`python -m loaders`: fetch, generate, convert and load the Financial Transactions dataset."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from schemas import DATASETS

if TYPE_CHECKING:
    from loaders.load import LoadReport

console = Console(stderr=True)


def _error(message: object) -> None:
    """One line, however wide the terminal (or a pipe's 80 columns), never read as rich markup."""
    console.print(f"[red]error:[/] {escape(str(message))}", soft_wrap=True)


EPILOG = """\
examples:
  python -m loaders generate --rows 100000 --out data/raw            offline files of the Kaggle shape
  python -m loaders fetch --out data/raw                             the real dataset (Kaggle API + token)
  python -m loaders convert data/raw data/json                       typed JSON lines, rejects quarantined
  python -m stacks outputs --stack devstack --file local.json
  python -m loaders load -d mongodb --outputs local.json --source data/json          every dataset
  python -m loaders load -d kafka --dataset cards --stack dev --source data/json     names from `dev`
  python -m loaders load -d dynamodb --dataset cards --outputs local.json --source data/json \\
      --mode streaming --interval 0.5 --rows 20                       a live feed, one record at a time
  python -m loaders load -d kafka --dataset cards --stack devstack --source data/json \\
      --mode streaming --interval 0.1 --rows 100 --loop               the seed's endless producer, until Ctrl-C

Targets and names (database, collections, tables, topics, registry, endpoints) come only from stack outputs:
--stack NAME reads `pulumi stack output --json --show-secrets`, --outputs FILE a JSON file of the same shape.
Every record is checked against its schema (schemas/) before it is written, whatever the target: one with a
wrong type, a missing or unknown field or no key goes to <source>/_rejected/load-<target>-<dataset>.jsonl
(file, line, key, field, reason) and changes nothing stored. A target that does not answer, or a name missing
from the outputs, is one line naming the service and address or the outputs key.
Kafka: values are framed by the schema registry (subject <topic>-value), key = the record's id; a checkpoint
in <source>/_state/ makes a re-run of a killed load send each record once (not with --loop, which re-sends).
Each dataset's report is one line: read, written, skipped, failed (of which rejected), passes, seconds.
Exit status: 0 when every record was written; 1 when any was rejected or failed (see _rejected/), or the target
cannot be used; 2 on usage; 130 on Ctrl-C (after what was sent is settled and reported).
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m loaders",
        description="Get the Financial Transactions dataset into MongoDB, Firestore, DynamoDB and Kafka.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    f = sub.add_parser("fetch", help="download the Kaggle dataset (needs the kaggle package and a token)")
    f.add_argument("--out", type=Path, default=Path("data/raw"), help="folder for the files (default data/raw)")

    g = sub.add_parser("generate", help="write the five dataset files offline, deterministic for a seed")
    g.add_argument("--rows", type=int, default=100_000, help="transactions to generate (default 100000)")
    g.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    g.add_argument("--out", type=Path, default=Path("data/raw"), help="folder for the files (default data/raw)")

    c = sub.add_parser("convert", help="CSV/JSON sources → typed JSON lines per schema; bad rows → _rejected/")
    c.add_argument("source_dir", type=Path, help="folder with the Kaggle files")
    c.add_argument("out_dir", type=Path, help="folder for <dataset>.jsonl and _rejected/")
    c.add_argument("--dataset", action="append", choices=DATASETS, help="only this dataset (repeatable)")

    ld = sub.add_parser("load", help="load converted JSON lines into one target")
    ld.add_argument("--target", "-d", "--destination", dest="target", required=True,
                    choices=("mongodb", "firestore", "dynamodb", "kafka"), help="where to load")  # fmt: skip
    ld.add_argument("--dataset", action="append", choices=DATASETS,
                    help="dataset to load (repeatable; default: every dataset the target has a place for)")  # fmt: skip
    where = ld.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="Pulumi stack whose outputs name the targets")
    where.add_argument(
        "--outputs", type=Path, help="stack outputs JSON file (e.g. from `python -m stacks outputs --file F`)"
    )
    ld.add_argument("--source", type=Path, default=Path("data/json"), help="converted JSON lines (default data/json)")
    ld.add_argument("--rows", type=int, help="only the first N records of each dataset")
    ld.add_argument("--mode", "--load-type", dest="mode", choices=("batch", "streaming"), default="batch",
                    help="batch (default) or streaming: one record per call")  # fmt: skip
    ld.add_argument("--interval", "--streaming-interval", dest="interval", type=float, default=0.0,
                    help="seconds between records in streaming mode")  # fmt: skip
    ld.add_argument("--loop", action="store_true",
                    help="pass over the source again and again until Ctrl-C, re-sending its records (a load "
                         "generator; Kafka then keeps no checkpoint)")  # fmt: skip
    ld.add_argument("--random-api", type=int, metavar="N",
                    help="the seed's source: N users from the public random-user API (needs internet)")  # fmt: skip
    ld.add_argument("--lanes", type=_positive, metavar="N",
                    help="batches written at once (default: mongodb and firestore one per core when the server "
                         "is on this machine, else 4; dynamodb 4; kafka sends from librdkafka's threads and ignores "
                         "it; streaming writes one at a time)")  # fmt: skip
    ld.add_argument("--no-progress", action="store_true", help="no progress bars")
    ld.add_argument("--no-count", action="store_true",
                    help="skip counting the target's records afterwards (for DynamoDB a full table scan)")  # fmt: skip
    ld.add_argument("--verbose", "-v", action="store_true", help="show the client libraries' own logs (librdkafka)")
    return p


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of 1 or more, not {text!r}")
    return int(text)


def _convert(args: argparse.Namespace) -> int:
    from loaders.convert import convert_dir

    started = time.monotonic()
    with console.status("converting ..."):
        report = convert_dir(args.source_dir, args.out_dir, args.dataset)
    table = Table(title=f"convert {args.source_dir} → {args.out_dir}")
    for col in ("dataset", "read", "written", "rejected", "seconds", "note"):
        table.add_column(col, justify="right" if col in ("read", "written", "rejected", "seconds") else "left")
    for r in report.datasets.values():
        note = r.error or (r.rejected_file or "")
        table.add_row(r.dataset, f"{r.read:,}", f"{r.written:,}", f"{r.rejected:,}", f"{r.seconds:.1f}", note)
    console.print(table)
    console.print(f"total {time.monotonic() - started:.1f}s")
    return 0 if report.ok else 1


def _load(args: argparse.Namespace) -> int:
    from contract.outputs import OutputsError, read_outputs
    from loaders.load import OUTPUT_MAPS, LoadError, TargetUnreachable, load_dataset

    if args.random_api:
        from loaders.fetch import FetchError, random_users

        try:
            random_users(args.random_api)
        except FetchError as exc:
            _error(exc)
            return 1
    try:
        outputs = read_outputs(outputs_file=args.outputs) if args.outputs else read_outputs(stack=args.stack)
    except OutputsError as exc:
        _error(exc)
        return 1
    names_key = OUTPUT_MAPS[args.target]
    # by default every dataset the target has a place for (DynamoDB has tables for some datasets only)
    datasets = args.dataset or [d for d in DATASETS if d in (outputs.get(names_key) or {})]
    if not datasets:
        _error(f"stack outputs: {names_key} is empty: no dataset has a place in {args.target}; run `make up`")
        return 1
    failed = False
    for dataset in datasets:
        try:
            r = load_dataset(args.target, dataset, outputs, args.source, args.rows, args.mode, args.interval,
                             progress=not args.no_progress, count=not args.no_count, verbose=args.verbose,
                             lanes=args.lanes, loop=args.loop)  # fmt: skip
        except TargetUnreachable as exc:  # every further dataset would wait for the same server
            _error(exc)
            return 1
        except LoadError as exc:
            _error(exc)
            failed = True
            continue
        _report(r)
        if r.interrupted:
            return 130
        failed |= not r.ok
    return 1 if failed else 0


def _report(r: LoadReport) -> None:
    """One line per dataset, whole in a pipe or a log, then the first rejection reasons and the quarantine."""
    in_target = "" if r.in_target is None else f"; {r.in_target:,} in the target"
    counts = f"read {r.read:,}, written {r.written:,}, skipped {r.skipped:,}, failed {r.failed:,}"
    line = f"{r.dataset} → {r.where}: {counts} (rejected {r.rejected:,}) in {r.passes} pass(es), {r.seconds:.1f}s"
    console.print(escape(line + in_target), soft_wrap=True, highlight=False)
    for reason in r.reasons:
        console.print(f"  [yellow]failed[/] {escape(reason)}", soft_wrap=True, highlight=False)
    if r.quarantine:
        console.print(f"  quarantine: {escape(r.quarantine)}", soft_wrap=True, highlight=False)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "generate":
            from loaders.generate import generate_dataset

            with console.status(f"generating {args.rows:,} transactions ..."):
                paths = generate_dataset(args.out, args.rows, args.seed)
            for path in paths.values():
                console.print(f"wrote {path} ({path.stat().st_size:,} bytes)")
            return 0
        if args.command == "fetch":
            from loaders.fetch import FetchError, fetch

            try:
                console.print(f"downloaded into {fetch(args.out)}")
            except FetchError as exc:
                _error(exc)
                return 1
            return 0
        if args.command == "convert":
            return _convert(args)
        return _load(args)
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
