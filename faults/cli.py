"""`python -m faults`: crash the data path at random moments on devstack and count what survives.

For each case and trial: records at source (distinct keys), in the target, duplicates (records beyond the
first of a key) and lost (keys the target lacks), after the recovery a user would do (run the load again,
start the server again). Every case must end with 0 duplicates and 0 lost; the exit status says whether all did.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faults import cases, restarts
from faults.trial import DATASET, Trial, Workspace

CASES: dict[str, Callable[[Workspace, int, Callable[[Trial], None]], list[Trial]]] = {
    "mongodb": lambda w, n, r: cases.kill_mid_load(w, "mongodb", n, r),
    "firestore": lambda w, n, r: cases.kill_mid_load(w, "firestore", n, r),
    "dynamodb": lambda w, n, r: cases.kill_mid_load(w, "dynamodb", n, r),
    "kafka": lambda w, n, r: cases.kill_mid_load(w, "kafka", n, r),
    "producer": cases.kill_mid_produce,
    "broker": cases.kill_broker_mid_produce,
    "outage": cases.broker_outage_past_the_timeout,
    "connect": cases.kill_connect_mid_stream,
    "registry": cases.registry_down_during_load,
    "restart": restarts.platform_down_up,
    "crash": restarts.kill_all_at_rest,
    "crash-each": restarts.kill_each_service,
    "crash-load": restarts.kill_all_mid_load,
    "crash-stream": restarts.kill_all_mid_stream,
}

EPILOG = """\
cases:
  mongodb, firestore, dynamodb, kafka   the loader killed -9 at a random moment of a load, then run again
  producer   the stream (`loaders load --mode streaming`) killed -9 at a random moment, then run again
  broker     the Kafka broker killed -9 and started again while the stream runs
  outage     the broker frozen (SIGSTOP) longer than the producer's message timeout, then running again
  connect    the Kafka Connect worker killed -9 and started again while the S3 sink writes the lake
  registry   the schema registry down when a Kafka load starts: one line, nothing sent; back up, re-run
  restart       data in every store (the four sinks, topic, lake, GCS, registry), `devstack down` and `up`:
                every store holds what it held, nothing is run again, subjects keep their schema ids
  crash         the same with every service killed -9 instead of stopped
  crash-each    the same with each data-holding service killed -9 and started alone, one after another
  crash-load    every service killed -9 at a random moment of the four loads; `up`, the loads again
  crash-stream  every service killed -9 while the producer streams the S3 sink's topic; `up`, the producer again

examples:
  python -m faults                              every case, 5 trials, 20,000 transactions
  python -m faults --trials 1 --rows 5000 --pace 0.001
                                                the small run `make test` does (every case but outage)
  python -m faults --case kafka --case broker --trials 16

It starts devstack's services and `up`s the devstack stack (DEVSTACK_HOME and DEVSTACK_PORT_* as for devstack);
it kills and restarts those services, so run it on a devstack nobody else is using.
Exit status: 0 when every trial ended with 0 duplicates and 0 lost, 1 otherwise.
"""


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m faults",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--trials", type=int, default=5, help="trials per case (default 5)")
    parser.add_argument("--rows", type=int, default=20_000, help="transactions generated as the source (default 20000)")
    parser.add_argument("--case", action="append", choices=list(CASES), help="only this case (repeatable)")
    parser.add_argument(
        "--pace",
        type=float,
        default=0.0,
        help="seconds between two records of the Kafka load and the producer (default 0: full speed); a small "
        "--rows crosses Kafka in milliseconds, so `make test` paces it for its kills to land mid-run",
    )
    parser.add_argument("--seed", type=int, default=11, help="seed of the kill moments and the data (default 11)")
    parser.add_argument("--work", type=Path, default=Path(".out/faults"), help="scratch folder (default .out/faults)")
    return parser.parse_args(argv)


def prepare(work_dir: Path, rows: int, seed: int, outputs: dict[str, Any], pace: float = 0.0) -> Workspace:
    """A seeded, converted source of `rows` transactions (with its cards and users) in `work_dir`."""
    from loaders.convert import convert_dir
    from loaders.generate import generate_dataset

    raw, source = work_dir / "raw", work_dir / "source"
    if not (source / f"{DATASET}.jsonl").exists() or (work_dir / "rows").read_text() != f"{rows} {seed}":
        generate_dataset(raw, rows, seed=seed)
        if not convert_dir(raw, source).ok:
            raise RuntimeError(f"converting {raw} failed; see {source / '_rejected'}")
        (work_dir / "rows").write_text(f"{rows} {seed}")
    return Workspace(work_dir, source, outputs, random.Random(seed), pace=pace)


def run_cases(work: Workspace, names: list[str], trials: int, report: Callable[[Trial], None]) -> list[Trial]:
    results: list[Trial] = []
    for name in names:
        results += CASES[name](work, trials, report)
    return results


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    from faults.platform import start_platform
    from faults.table import print_summary, trial_line

    args = parse(argv)
    console = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 150)
    console.print("[bold]faults[/]: starting devstack and the devstack stack ...")
    outputs = start_platform(report=lambda message: console.print(f"  {message}", highlight=False))
    args.work.mkdir(parents=True, exist_ok=True)
    work = prepare(args.work.resolve(), args.rows, args.seed, outputs, args.pace)
    console.print(f"source: {len(work.keys()):,} {DATASET} in {work.source}")
    results = run_cases(work, args.case or list(CASES), args.trials, lambda t: console.print(trial_line(t)))
    print_summary(console, results)
    return 0 if all(t.ok for t in results) else 1
