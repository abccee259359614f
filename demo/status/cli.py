"""`python -m demo.status` (`make status`): one screen of the platform; `--json` prints the same for scripts."""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from demo.status import __doc__ as ABOUT
from demo.status import connectors, dag_runs, processes, subjects, topics
from demo.status.sources import Sources, load

EPILOG = """\
examples:
  make status                                 this screen for the devstack stack
  python -m demo.status --json | jq .kafka    the same as JSON, for scripts
  python -m demo.status --outputs out.json    names and endpoints from an outputs file instead of the stack

Names and endpoints come from the stack's outputs (the Pulumi state); before the first `make up` they come from
the substrate file devstack writes. Exit status: 0 whenever the report was printed, also when a section's server
is down (that section is then one line, and `"error"` in the JSON); 2 for a bad argument.
`python -m devstack status` is the processes-only view.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demo.status",
        description=ABOUT,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--stack", default="devstack", help="whose outputs name the objects (default devstack)")
    parser.add_argument("--outputs", type=Path, metavar="FILE", help="read names and endpoints from this file")
    parser.add_argument(
        "--runs", type=int, default=dag_runs.DEFAULT_RUNS, help=f"DAG runs to show (default {dag_runs.DEFAULT_RUNS})"
    )
    return parser


def gather(src: Sources, runs: int = dag_runs.DEFAULT_RUNS) -> dict[str, Any]:
    """Every section, read at the same time (a server that hangs costs its own timeout, not everyone's)."""
    with ThreadPoolExecutor(max_workers=5, thread_name_prefix="status") as pool:
        futures = {
            "services": pool.submit(processes.section, src.cfg),
            "kafka": pool.submit(topics.section, src),
            "connect": pool.submit(connectors.section, src),
            "registry": pool.submit(subjects.section, src),
            "airflow": pool.submit(dag_runs.section, src, runs),
        }
        sections = {name: future.result() for name, future in futures.items()}
    return {
        "stack": src.stack,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "outputs": {"origin": src.origin, "note": src.note},
        **sections,
    }


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        report = gather(load(args.stack, args.outputs), args.runs)
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            from rich.console import Console

            from demo.status.view import render

            render(report, Console(width=None if Console().is_terminal else 160))
        sys.stdout.flush()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`--json | head`): a quiet exit, as `cat` does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush goes nowhere instead of failing
    return 0
