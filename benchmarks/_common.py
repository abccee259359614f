"""Timing and peak memory of a contender run in its own process, and a table of ratios against a baseline."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from benchmarks import _platform
from benchmarks._results import show

_RUNNER = """
import json, sys, time
sys.path.insert(0, {root!r})
from {module} import {function} as f
t = time.perf_counter(); f(*{args!r}); seconds = time.perf_counter() - t
# VmHWM, not getrusage's ru_maxrss: the latter starts from the parent's RSS at fork and survives exec
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"seconds": seconds, "peak_rss_mb": hwm / 1024}}))
"""


@dataclass
class Measurement:
    name: str
    seconds: float
    peak_rss_mb: float | None = None  # None: measured in this process, where a peak would not be its own


def measure(name: str, module: str, function: str, *args: object) -> Measurement:
    """Run `module.function(*args)` in a fresh interpreter; its wall time and peak RSS (its own, not ours)."""
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    code = _RUNNER.format(root=root, module=module, function=function, args=list(args))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return Measurement(name, result["seconds"], result["peak_rss_mb"])


def ratio_table(title: str, baseline: Measurement, others: list[Measurement], unit: str = "rows", n: int = 0) -> None:
    """Speed-up = baseline time / contender time (> 1 means faster than the baseline)."""
    table = Table(title=title)
    for col in ("contender", "seconds", f"{unit}/s", "speed vs " + baseline.name, "peak RSS MB"):
        table.add_column(col, justify="right")
    for m in [baseline, *others]:
        rate = f"{n / m.seconds:,.0f}" if n else "-"
        table.add_row(m.name, f"{m.seconds:.2f}", rate, f"{baseline.seconds / m.seconds:.2f}x", _mb(m.peak_rss_mb))
    show(table)


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def platform_outputs(services: list[str]) -> dict[str, Any]:
    """The benchmarks' own devstack (`benchmarks/_platform.py`) with `services` (and those the stack needs)
    running, and its `devstack` stack up on the real engine: its outputs, as every consumer reads them."""
    from devstack.config import DevstackConfig
    from devstack.platform import Platform
    from stacks.engine import outputs_of, select_stack

    _platform.ensure_isolated()
    Platform().up([*services, "kafka", "registry", "connect", "airflow"], report=lambda _msg: None)
    # the substrate the benchmarks' own devstack wrote, and the stack's state beside it
    substrate = DevstackConfig.from_env().home / "outputs.json"
    config = {"substrateOutputs": str(substrate)}
    stack = select_stack("devstack", state_dir=_platform.pulumi_state_dir(), config=config)
    stack.up(refresh=True, color="never")
    return outputs_of(stack)


def delete_prefix(s3: Any, bucket: str, prefix: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})


@dataclass
class Trials:
    """Every timed repetition of one contender; the median is what a table shows, with the min-max spread."""

    name: str
    seconds: list[float]
    peak_rss_mb: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def spread(self) -> str:
        return f"{min(self.seconds):.2f}-{max(self.seconds):.2f}"

    @property
    def peak(self) -> float | None:
        return max(self.peak_rss_mb) if self.peak_rss_mb else None


#: a contender: run it once and say what it took (seconds, and its peak RSS when measured in a child process)
Contender = Callable[[], Measurement]


def timed(name: str, run: Callable[[], object]) -> Contender:
    """A contender measured in this process (for loads, where the server is the bottleneck and RSS is not ours)."""

    def contender() -> Measurement:
        started = time.perf_counter()
        run()
        return Measurement(name, time.perf_counter() - started)

    return contender


def compare(
    contenders: dict[str, Contender],
    repeats: int = 3,
    reset: Callable[[], None] = lambda: None,
    warmup: Callable[[], None] | None = None,
) -> dict[str, Trials]:
    """Each contender `repeats` times, in alternating order (rotated every round, so none always goes first
    into a cold cache or last into a busy server), `reset()` before every run so each starts from the same
    state; `warmup()` (default: every contender once, untimed) first, so no one pays the server's warm-up."""
    names = list(contenders)
    if warmup is None:
        for name in names:
            reset()
            contenders[name]()
    else:
        warmup()
    trials = {name: Trials(name, [], []) for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            reset()
            m = contenders[name]()
            # a line per run on stderr: a long benchmark shows where it is, and one stopped early what it measured
            print(f"  round {round_ + 1}/{repeats}: {name} {m.seconds:.2f} s", file=sys.stderr, flush=True)
            trials[name].seconds.append(m.seconds)
            if m.peak_rss_mb is not None:
                trials[name].peak_rss_mb.append(m.peak_rss_mb)
    return trials


def trials_table(title: str, trials: dict[str, Trials], baseline: str, n: int, unit: str = "rows") -> Table:
    """Median seconds (min-max), median rate, and the ratio of medians against `baseline` (> 1: faster)."""
    table = Table(title=title)
    for col in ("contender", "median s", "min-max s", f"{unit}/s", f"vs {baseline}", "peak RSS MB"):
        table.add_column(col, justify="left" if col == "contender" else "right")
    base = trials[baseline].median
    for t in trials.values():
        ratio = "baseline" if t.name == baseline else f"{base / t.median:.2f}x"
        table.add_row(t.name, f"{t.median:.2f}", t.spread(), f"{n / t.median:,.0f}", ratio, _mb(t.peak))
    show(table)
    return table


def ratio_of(trials: dict[str, Trials], contender: str, baseline: str) -> float:
    """How fast `contender` is against `baseline`: ratio of their median times (> 1: faster)."""
    return trials[baseline].median / trials[contender].median


def fresh_ids_copy(source_dir: Path, target_dir: Path, dataset: str = "transactions") -> None:
    """`target_dir/<dataset>.jsonl`: the source's records with ids no earlier run sent (shifted by the clock).
    Our exactly-once Kafka load finds on the topic what earlier runs delivered and sends none of it again, and
    the topic belongs to the stack (not deleted between runs): fresh ids make every run a first load."""
    import shutil

    shutil.rmtree(target_dir, ignore_errors=True)
    target_dir.mkdir(parents=True)
    shift = time.time_ns() // 1000 * 1000
    with (source_dir / f"{dataset}.jsonl").open() as lines, (target_dir / f"{dataset}.jsonl").open("w") as out:
        for line in lines:
            record = json.loads(line)
            record["id"] += shift
            out.write(json.dumps(record) + "\n")
