"""One `airflow dags test` process for all of the demo's DAG runs.

Each `airflow dags test` starts Airflow (about 9 s of imports and DAG parsing here) and, at its first task, the
in-process Execution API (about 11 s of FastAPI app set-up, cached per process by Airflow itself). The demo
runs three DAGs, so a process each paid that three times. This module is that CLI kept open: it reads one
request per line on stdin (`{"argv": ["dags", "test", ...], "log": "<file>"}`), runs it through Airflow's own
CLI parser with the process's output sent to that log, and answers `{"code": N}` on stdout, as the CLI's exit
code would be. Run by `demo.airflow.DagSession` with the Airflow service's environment; never imported by it.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO


@contextmanager
def output_to(log: Path) -> Iterator[None]:
    """File descriptors 1 and 2 (so every handler and child process too) into `log`, restored after."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log.open("w") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def exit_code(exc: SystemExit) -> int:
    """What the CLI process would have exited with: `SystemExit("DagRun failed")` is 1."""
    return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)


def run(parser: Any, argv: list[str], log: Path) -> int:
    with output_to(log):
        try:
            args = parser.parse_args(argv)
            args.func(args)
        except SystemExit as exc:
            return exit_code(exc)
        except Exception:  # the CLI would print the traceback and exit 1: so does this, into the run's log
            traceback.print_exc()
            return 1
    return 0


def serve(requests: TextIO, answers: TextIO) -> None:
    from airflow.cli import cli_parser
    from airflow.configuration import write_default_airflow_configuration_if_needed

    write_default_airflow_configuration_if_needed()
    parser = cli_parser.get_parser()
    for line in requests:
        request = json.loads(line)
        code = run(parser, [str(a) for a in request["argv"]], Path(request["log"]))
        answers.write(json.dumps({"code": code}) + "\n")
        answers.flush()


def main() -> int:
    # the answers keep the real stdout: each run's own output goes to its log through fd 1
    answers = os.fdopen(os.dup(1), "w")
    serve(sys.stdin, answers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
