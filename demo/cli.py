"""`python -m demo` (`make demo`): the whole product on devstack, then the reconciliation table."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from demo.run import DEFAULT_ROWS, DEFAULT_SEED, run_demo
from demo.run import __doc__ as STEPS

EPILOG = """\
examples:
  make demo                           the default sample (20,000 transactions)
  python -m demo --rows 2000          a quicker, smaller sample
  python -m demo --seed 7             another sample

Files (sample, converted data, quarantine, the DAG and engine logs) go to .out/demo/ ($PIPELINES_WORK_DIR to
move it). Everything keeps running afterwards: `make down` stops it.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description=(STEPS or "").split("\n\n", 1)[0] + "\n\n" + (STEPS or "").split("\n\n", 1)[-1],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--rows", type=int, default=DEFAULT_ROWS, help=f"transactions in the sample (default {DEFAULT_ROWS:,})"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"sample seed (default {DEFAULT_SEED})")
    parser.add_argument("--work-dir", help="where the demo's files go (default: .out/demo)")
    parser.add_argument(
        "--sink-timeout", type=float, default=180.0, help="seconds to wait for the S3 sink (default 180)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    args = _parser().parse_args(argv)
    console = Console(width=None if Console().is_terminal else 140)
    started = time.monotonic()
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    try:
        result = run_demo(
            rows=args.rows,
            seed=args.seed,
            work=Path(args.work_dir) if args.work_dir else None,
            sink_timeout=args.sink_timeout,
            console=console,
        )
    except KeyboardInterrupt:
        return 130
    total = time.monotonic() - started
    for title, seconds in result.timings:
        console.print(f"  {seconds:6.1f}s  {title}", highlight=False)
    console.print(f"[bold]total {total:.1f}s[/] for {args.rows:,} transactions")
    for error in result.errors:
        console.print(f"[red]error:[/] {error}")
    if result.ok:
        console.print("[green bold]every row is where it should be[/]")
    else:
        console.print("[red bold]something is missing: see the table above[/]")
    if result.gold:
        console.rule("[bold]an answer from gold")
        for line in result.gold:
            console.print(f"  {line}", highlight=False, soft_wrap=True)  # a path stays one line
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
