"""What a connector's `/status` answer means against a declared state: pure functions, no worker.

A worker reports the connector and each task as RUNNING, PAUSED, STOPPED (connector only: a stopped connector
has no tasks), UNASSIGNED, RESTARTING or FAILED (with a Java stack trace). `live_state` folds that answer into
one word comparable with the declared state (RUNNING, PAUSED or STOPPED), or into a readable reason when it
is neither: a failure names what failed and the first line of its trace.
"""

from __future__ import annotations

from typing import Any

STATES: tuple[str, ...] = ("RUNNING", "PAUSED", "STOPPED")
DEFAULT_STATE = "RUNNING"


def first_line(trace: str | None) -> str:
    """The first line of a Java trace (`org.apache...Exception: message`), or `no trace`."""
    lines = (trace or "").strip().splitlines()
    return lines[0].strip() if lines else "no trace"


def failures(status: dict[str, Any]) -> list[str]:
    """What failed: `connector: <first trace line>` and `task <id>: <first trace line>`, in that order."""
    found = []
    connector = status.get("connector") or {}
    if connector.get("state") == "FAILED":
        found.append(f"connector: {first_line(connector.get('trace'))}")
    for task in status.get("tasks") or []:
        if task.get("state") == "FAILED":
            found.append(f"task {task.get('id')}: {first_line(task.get('trace'))}")
    return found


def live_state(status: dict[str, Any]) -> str:
    """RUNNING, PAUSED or STOPPED when the connector and every task agree on it (RUNNING needs a task); else
    `FAILED (<what>: <trace line>; ...)` or the states seen (`connector RUNNING, task 0 UNASSIGNED`)."""
    failed = failures(status)
    if failed:
        return f"FAILED ({'; '.join(failed)})"
    connector = (status.get("connector") or {}).get("state", "UNKNOWN")
    tasks = status.get("tasks") or []
    task_states = {t.get("state") for t in tasks}
    if connector == "STOPPED" and not tasks:
        return "STOPPED"
    if connector == "PAUSED" and task_states <= {"PAUSED"}:
        return "PAUSED"
    if connector == "RUNNING" and task_states == {"RUNNING"}:
        return "RUNNING"
    described = ", ".join(f"task {t.get('id')} {t.get('state')}" for t in tasks) or "no tasks yet"
    return f"connector {connector}, {described}"


def task_summary(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Each task as `{"id", "state"}` plus `"trace"` (its first line) when it failed (not the worker it runs on:
    a rebalance moves it, and a refresh must not call that a change)."""
    summary = []
    for task in sorted(status.get("tasks") or [], key=lambda t: int(t.get("id", 0))):
        entry: dict[str, Any] = {"id": task.get("id"), "state": task.get("state")}
        if task.get("state") == "FAILED":
            entry["trace"] = first_line(task.get("trace"))
        summary.append(entry)
    return summary
