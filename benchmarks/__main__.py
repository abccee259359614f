"""`python -m benchmarks [NAME ...] [--quick]`: run the benchmark modules (benchmarks/<name>.py with a
`main(argv)`), all of them by default; other arguments are passed on to each."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("-")]
    passed = [a for a in argv if a.startswith("-")]
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    worst = 0
    for name in names or available():
        print(f"\n=== benchmarks.{name} {' '.join(passed)}", flush=True)
        worst = max(worst, importlib.import_module(f"benchmarks.{name}").main(passed))
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
