"""The benchmarks' own platform: a devstack home, ports and Pulumi state of their own, never the user's.

A benchmark loads hundreds of thousands of rows, sends plain JSON to topics and creates connectors; on the
user's platform that spoiled the next `make demo`. So `python -m benchmarks` moves devstack to
`.devstack/bench` (`KDE_BENCH_HOME` moves it elsewhere), its ports 3000 above devstack's defaults
(`KDE_BENCH_PORT_OFFSET`), the stack's state into that home, and at the end (a normal end, an exception,
Ctrl-C, SIGTERM or SIGHUP) stops every service of it and deletes the home; what a run killed with -9 left is
stopped and deleted when the next one starts. The install cache is shared.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
#: 18000-18070: beside devstack's defaults (15000s), the test suite's platform (16000s) and the engine tests' (17000s)
DEFAULT_PORT_OFFSET = 3000
#: written into a home this module created: only such a home is ever deleted
MARKER = ".benchmarks-platform"


def home() -> Path:
    return Path(os.environ.get("KDE_BENCH_HOME") or ROOT / ".devstack" / "bench").resolve()


def pulumi_state_dir() -> Path:
    return home() / "pulumi"


def isolate() -> Path:
    """Point this process (and every child) at the benchmarks' platform; returns its home. Run before anything
    reads devstack's or Pulumi's settings."""
    from devstack.config import DEFAULT_PORTS

    offset = int(os.environ.get("KDE_BENCH_PORT_OFFSET", DEFAULT_PORT_OFFSET))
    bench = home()
    if bench == (ROOT / ".devstack").resolve():
        raise SystemExit(f"benchmarks: KDE_BENCH_HOME={bench} is the default devstack home; choose a folder of its own")
    os.environ["DEVSTACK_HOME"] = str(bench)
    os.environ.setdefault("DEVSTACK_INSTALL", str(ROOT / ".devstack" / "install"))
    os.environ["KDE_PULUMI_STATE_DIR"] = str(pulumi_state_dir())
    os.environ.pop("PULUMI_BACKEND_URL", None)  # the user's own backend is the user's: never the benchmarks'
    for name, port in DEFAULT_PORTS.items():
        os.environ[f"DEVSTACK_PORT_{name.upper()}"] = str(port + offset)
    if (bench / MARKER).exists():  # an earlier run killed before its teardown (kill -9): its services, its data
        print(f"benchmarks: stopping and deleting what an interrupted run left in {bench}", file=sys.stderr)
        teardown()
    bench.mkdir(parents=True, exist_ok=True)
    (bench / MARKER).touch()
    return bench


def teardown() -> None:
    """Every service of the benchmarks' platform stopped, then its home (data and stack state) deleted."""
    from devstack.platform import Platform

    bench = home()
    if not (bench / MARKER).exists():
        return
    try:
        Platform().down(report=lambda _msg: None)
    finally:
        shutil.rmtree(bench, ignore_errors=True)


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP end the run as Ctrl-C does, so the caller's `finally` stops the platform."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        print(f"benchmarks: {signal.Signals(signum).name}: stopping the benchmarks' platform", file=sys.stderr)
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)


def ensure_isolated() -> None:
    """A benchmark module run on its own (`python -m benchmarks.batch`) gets the same platform of its own,
    stopped when the interpreter exits."""
    import atexit

    if os.environ.get("DEVSTACK_HOME") == str(home()):
        return
    isolate()
    stop_on_signals()
    atexit.register(teardown)
