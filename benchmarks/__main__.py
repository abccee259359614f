"""`python -m benchmarks [NAME ...] [--quick]`: run the benchmark modules (benchmarks/<name>.py with a
`main(argv)`), all of them by default; other arguments are passed on to each (`NAME --help` shows them).

Each writes its own section of benchmarks/RESULTS.md. They run on a platform of their own (a devstack under
.devstack/bench, ports 18000-18070, the stack's state there too), stopped and deleted at the end, even when
interrupted: the user's devstack and stacks are never touched."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    # a word that names a benchmark selects it; everything else (options and their values) goes to each one
    names = [a for a in argv if a in available()]
    passed = [a for a in argv if a not in names]
    stray = [a for i, a in enumerate(passed) if not a.startswith("-") and (i == 0 or not passed[i - 1].startswith("-"))]
    if stray:
        print(f"unknown benchmark(s) {', '.join(stray)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    if not names and {"-h", "--help"} & set(passed):
        print(f"{__doc__}\n\navailable: {', '.join(available())}")
        return 0
    from benchmarks import _platform

    _platform.stop_on_signals()
    _platform.isolate()  # before anything reads devstack's or Pulumi's settings
    try:
        return run(names or available(), passed, argv)
    finally:
        _platform.teardown()


def run(names: list[str], passed: list[str], argv: list[str]) -> int:
    from benchmarks import _results
    from pipelines.common import quiet_http_clients

    quiet_http_clients()  # a line per HTTP request (httpx at INFO once dlt loads Airflow's config) hid the tables
    worst = 0
    for name in names:
        print(f"\n=== benchmarks.{name} {' '.join(passed)}", flush=True)
        if not {"-h", "--help"} & set(passed):
            _results.begin(name, argv)
        worst = max(worst, importlib.import_module(f"benchmarks.{name}").main(passed))
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
