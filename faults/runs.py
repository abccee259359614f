"""The loads and the producer as the CLIs a user runs (`python -m loaders load`), in subprocesses, so kill -9 hits
a real process with real buffers in flight: their commands, running one with a hang guard, killing one at a
point of its progress, and restarting a service."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faults.platform import service
from faults.trial import DATASET


def load_command(
    target: str, outputs_path: Path, source_dir: Path, dataset: str = DATASET, pace: float = 0.0
) -> list[str]:
    paced = ["--mode", "streaming", "--interval", str(pace)] if pace else []
    return [sys.executable, "-m", "loaders", "load", "-d", target, "--dataset", dataset, "--outputs",
            str(outputs_path), "--source", str(source_dir), "--no-progress", "--no-count", *paced]  # fmt: skip


def produce_command(outputs_path: Path, source: Path, dataset: str, interval: float) -> list[str]:
    """The stream: `source` one record at a time into Kafka, resuming from its checkpoint in the source's folder."""
    return [sys.executable, "-m", "loaders", "load", "-d", "kafka", "--dataset", dataset, "--outputs",
            str(outputs_path), "--source", str(source.parent), "--no-progress", "--no-count", "--mode", "streaming",
            "--interval", str(interval)]  # fmt: skip


#: a re-run that takes this much longer than an uninterrupted run has hung
HUNG_FACTOR, HUNG_FLOOR_S = 4.0, 60.0


def run(command: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`command`'s exit status and output; a hang past `timeout` is exit status None (the process is killed)."""
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        return subprocess.CompletedProcess(command, None, "", f"{stderr}\nno answer within {timeout:.0f}s")  # type: ignore[arg-type]


def timed(command: list[str]) -> float:
    started = time.monotonic()
    done = run(command)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:5])}: exit {done.returncode}: {last_line(done.stderr)}")
    return time.monotonic() - started


def wait_for_progress(
    proc: subprocess.Popen[Any], progress: Callable[[], int], records: int, timeout: float = 120
) -> bool:
    """Until `progress()` reaches `records` (a random point of the run's writes, not of its start-up) or the run
    ends; whether the run is still going."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if progress() >= records:
            break
        time.sleep(0.01)
    return proc.poll() is None


def kill_at_progress(command: list[str], progress: Callable[[], int], records: int) -> bool:
    """Run `command` and kill -9 it once `progress()` reaches `records`; whether it was still running then."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    running = wait_for_progress(proc, progress, records)
    if running:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return running


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def restart(name: str) -> None:
    """kill -9 and start again through devstack's `up`, which provisions what an in-memory server forgot."""
    from devstack.platform import Platform

    service(name).kill()
    Platform().up([name], report=lambda message: None)
