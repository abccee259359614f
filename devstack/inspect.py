"""What a running devstack service costs: the memory of its process group and what it keeps on disk.

A service is started in a session of its own (process.start_detached), so its PID is its process group's id and
every process it spawned (Airflow's scheduler, triggerer and workers; a JVM's children) shares that group.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from devstack.service import Service


@dataclass(frozen=True)
class Usage:
    pid: int | None
    #: resident memory summed over the process group (shared pages count once per process, as `ps` shows them)
    rss_bytes: int | None
    processes: int
    #: what the service keeps in its run dir (data, config, PID file), its log excepted; blocks on disk
    data_bytes: int
    log_bytes: int


def usage(service: Service) -> Usage:
    pid = service.pid()
    rss, processes = group_rss(pid) if pid is not None else (None, 0)
    log_bytes = disk_bytes(service.log_file)
    return Usage(pid, rss, processes, disk_bytes(service.run_dir) - log_bytes, log_bytes)


def group_rss(pid: int) -> tuple[int | None, int]:
    """(RSS in bytes, process count) of `pid`'s process group; (None, 0) when the process is gone."""
    import psutil

    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return None, 0
    total, count = 0, 0
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) != pgid:
                continue
            total += proc.memory_info().rss
        except (ProcessLookupError, psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # ended (or not ours to read) between the listing and the look
        count += 1
    return total, count


def disk_bytes(path: Path) -> int:
    """Bytes `path` occupies on disk (allocated blocks, as `du` counts them: Kafka's preallocated, sparse index
    files count for what they hold), 0 when it does not exist; symlinks are not followed."""
    try:
        top = path.lstat()
    except FileNotFoundError:
        return 0
    if not path.is_dir() or path.is_symlink():
        return top.st_blocks * 512
    total = 0
    for root, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                continue  # removed while we walked (a log segment rolled away)
    return total + top.st_blocks * 512
