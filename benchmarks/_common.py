"""Timing and peak memory of a contender run in its own process, and a table of ratios against a baseline."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

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
    Console().print(table)


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def platform_outputs(services: list[str]) -> dict[str, Any]:
    """devstack's `services` (and those the stack needs) running, and the `devstack` stack up on the real engine:
    its outputs, as every consumer reads them."""
    from devstack.platform import Platform
    from stacks.engine import outputs_of, select_stack

    Platform().up([*services, "kafka", "registry", "connect", "airflow"], report=lambda _msg: None)
    stack = select_stack("devstack")
    stack.up(refresh=True, color="never")
    return outputs_of(stack)


def delete_prefix(s3: Any, bucket: str, prefix: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
