"""The status report as rich tables: one table per section, or the section's one line when it could not be read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

GOOD, BAD, WAITING = ("RUNNING", "success"), ("FAILED", "failed", "ABSENT"), ("PAUSED", "STOPPED", "UNASSIGNED")
TRACE_WIDTH = 90
STATE_STYLES = {
    **dict.fromkeys(GOOD, "green"),
    **dict.fromkeys(BAD, "red"),
    **dict.fromkeys(WAITING, "yellow"),
    "queued": "yellow",
    "running": "cyan",
}


def render(report: dict[str, Any], console: Console) -> None:
    console.rule(f"[bold]platform status[/] · stack {report['stack']} · {report['generated_at']}")
    source = report["outputs"]
    if source["origin"] != "no outputs":
        console.print(f"[dim]names and endpoints from {source['origin']}[/]", highlight=False)
    if source["note"]:
        console.print(f"[yellow]{source['note']}[/]", highlight=False)
    sections: list[tuple[str, str, Callable[[dict[str, Any]], RenderableType]]] = [
        ("services", "devstack services", services),
        ("kafka", "Kafka topics, S3 sink lag, dead letters", kafka),
        ("connect", "Kafka Connect", connectors),
        ("registry", "schema registry", subjects),
        ("airflow", "Airflow: last DAG runs", dag_runs),
    ]
    for key, title, draw in sections:
        section = report[key]
        console.print(Text(title, style="bold"))
        console.print(Text(section["error"], style="red") if section["error"] else draw(section))


def services(section: dict[str, Any]) -> RenderableType:
    table = _table("service", "state", "pid", "ports", "memory", "procs", "data", "log")
    for s in section["services"]:
        state = Text("running", "green") if s["running"] else Text("stopped", "dim")
        ports = ", ".join(str(p) for p in s["ports"].values())
        memory = human(s["rss_bytes"]) if s["rss_bytes"] is not None else "-"
        procs = str(s["processes"] or "-")
        table.add_row(
            s["name"], state, str(s["pid"] or "-"), ports, memory, procs, human(s["data_bytes"]), human(s["log_bytes"])
        )
    return table


def kafka(section: dict[str, Any]) -> RenderableType:
    table = _table("topic", "partitions", "end offsets", "records", "sink lag")
    for t in section["topics"]:
        ends = " ".join(f"{p}:{o:,}" for p, o in t["end_offsets"].items())
        lag = "-" if t["sink_lag"] is None else Text(f"{t['sink_lag']:,}", "yellow" if t["sink_lag"] else "green")
        name = Text(t["name"], "bold" if t["stack"] else "")
        table.add_row(name, str(t["partitions"]), _clip(ends, 48), f"{t['records']:,}", lag)
    sink, dead = section["sink"], section["dead_letter"]
    lines: list[RenderableType] = [
        table if section["topics"] else Text("no topics (the stack creates them: `make up`)"),
        Text(
            f"S3 sink {sink['connector']} (consumer group {sink['group']}): lag {sink['lag']:,} "
            f"over {', '.join(sink['topics']) or 'no topics'}"
        ),
    ]
    if not dead["exists"]:
        lines.append(
            Text(f"dead-letter topic {dead['topic']}: does not exist (the stack creates it: `make up`)", "red")
        )
    else:
        style = "red" if dead["depth"] else "green"
        lines.append(Text(f"dead-letter topic {dead['topic']}: {dead['depth']:,} records", style))
    return Group(*lines)


def connectors(section: dict[str, Any]) -> RenderableType:
    table = _table("connector", "state", "task", "task state", "worker", "first line of the trace")
    for c in section["connectors"]:
        name = Text(c["name"], "bold" if c["stack"] else "")
        table.add_row(name, _state(c["state"]), "", "", c["worker"] or "", _clip(c["trace"] or "", TRACE_WIDTH))
        for task in c["tasks"]:
            table.add_row(
                "",
                "",
                str(task["id"]),
                _state(task["state"]),
                task["worker"] or "",
                _clip(task["trace"] or "", TRACE_WIDTH),
            )
    if not section["connectors"]:
        return Text("no connectors on the worker")
    return table


def subjects(section: dict[str, Any]) -> RenderableType:
    if not section["subjects"]:
        return Text(f"no subjects (global compatibility {section['global_compatibility']})")
    table = _table("subject", "version", "id", "compatibility")
    for s in section["subjects"]:
        level = s["compatibility"] if s["compatibility_source"] == "subject" else f"{s['compatibility']} (global)"
        table.add_row(s["subject"], str(s["version"]), str(s["id"]), level)
    return table


def dag_runs(section: dict[str, Any]) -> RenderableType:
    if not section["runs"]:
        return Text("no DAG runs yet")
    table = _table("dag", "run", "state", "type", "started", "seconds")
    for r in section["runs"]:
        took = "-" if r["seconds"] is None else f"{r['seconds']:.1f}"
        table.add_row(
            r["dag_id"],
            _clip(r["run_id"] or "", 44),
            _state(r["state"]),
            r["run_type"] or "",
            (r["start_date"] or "-")[:19],
            took,
        )
    return table


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _table(*columns: str) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="dim")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _state(state: str | None) -> Text:
    return Text(state or "?", STATE_STYLES.get(state or "", ""))


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
