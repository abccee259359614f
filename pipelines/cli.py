"""`python -m pipelines COMMAND`: the batch and streaming pipelines (the demo is `python -m demo`)."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Protocol, cast

#: command -> (module with add_arguments/run and DESCRIPTION/EPILOG, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "batch": ("pipelines.batch.cli", "MongoDB -> S3 landing bucket with dlt (incremental, schema contracts)"),
    "reconcile": ("pipelines.reconcile.cli", "every row and value: source files vs each sink vs the lake, by key"),
}

EPILOG = """\
examples:
  python -m pipelines batch --stack devstack            MongoDB -> S3 once
  python -m pipelines reconcile --stack devstack --source data/json
                                                        source vs MongoDB, Firestore, DynamoDB, Kafka, the lake

Every command reads its targets from stack outputs: --stack NAME (a Pulumi stack) or --outputs FILE. The
topics, subjects, the S3 sink connector and Airflow's connections/variables are the stack's (`make up`).
`python -m pipelines COMMAND --help` explains each one. Records reach Kafka through the loaders, one write path
for every sink: `python -m loaders load -d kafka --mode streaming [--interval S] [--loop]`.
"""


class CommandModule(Protocol):
    DESCRIPTION: str
    EPILOG: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _module(name: str) -> CommandModule:
    return cast(CommandModule, importlib.import_module(COMMANDS[name][0]))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines",
        description="The data pipelines of the platform: dlt MongoDB -> S3 under Airflow, Kafka -> the S3 sink "
        "-> the lake, and reconciliation of every store.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        module = _module(name)
        sp = sub.add_parser(
            name,
            help=help_text,
            description=module.DESCRIPTION,
            epilog=module.EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sp)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from contract.errors import TargetUnreachable
    from contract.outputs import OutputsError

    try:
        return _module(args.command).run(args)
    except OutputsError as exc:
        print(f"stack outputs: {exc}", file=sys.stderr)
        return 2
    except TargetUnreachable as exc:  # a server that does not answer: one line naming it
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to say to it
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush on a closed pipe prints no traceback."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
