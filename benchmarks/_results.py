"""benchmarks/RESULTS.md, written by the benchmarks: each benchmark rewrites its own section.

A section holds the run's date, the machine (cores, load average at the start), the command line with its
sizes, and every table and summary line the benchmark printed, as it printed them. It is rewritten after each
table, so a long run stopped part-way keeps what it measured; the other benchmarks' sections stay as they were.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = """# Benchmark results

Written by `python -m benchmarks` (`make bench`): each benchmark rewrites its own section below when it runs.
Ratios are against a baseline measured in the same run; times are medians of rotated rounds after a warm-up.
How to run and read them: [docs/performance.md](../docs/performance.md). Do not edit by hand.
"""


@dataclass
class Section:
    name: str
    command: str
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M %Z"))
    machine: str = field(default_factory=lambda: _machine())
    parts: list[str] = field(default_factory=list)

    def render(self) -> str:
        head = [f"## {self.name}", "", f"`{self.command}` · {self.started} · {self.machine}", ""]
        return "\n".join([*head, *self.parts]).rstrip() + "\n"


_current: Section | None = None


def begin(name: str, argv: list[str]) -> None:
    """The benchmark `name` starts (`argv`: the command line `python -m benchmarks` was given): what it shows from
    now on goes to its section."""
    global _current
    _current = Section(name, " ".join(["python -m benchmarks", *argv]))


def part(label: str | None) -> None:
    """From now on the running benchmark writes to its section `<name> (<label>)` (None: `<name>`), so a benchmark
    whose parts run apart (the loaders' convert and loads) keeps each part's latest figures."""
    global _current
    if _current is not None:
        base = _current.name.split(" (")[0]
        _current = Section(base if label is None else f"{base} ({label})", _current.command)


def show(table: Table, console: Console | None = None) -> None:
    """Print `table` and add it to the running benchmark's section."""
    (console or Console(width=None if Console().is_terminal else 140)).print(table)
    _add(markdown(table))


def say(line: str) -> None:
    """Print a summary line and add it to the running benchmark's section."""
    print(line, flush=True)
    _add(f"- {line}\n")


def markdown(table: Table) -> str:
    headers = [str(c.header) for c in table.columns]
    cells = [[_text(cell) for cell in column.cells] for column in table.columns]
    rows = [" | ".join(row) for row in zip(*cells, strict=True)]
    title = f"**{table.title}**\n\n" if table.title else ""
    lines = [f"| {' | '.join(headers)} |", "|" + "---|" * len(headers), *(f"| {row} |" for row in rows)]
    return title + "\n".join(lines) + "\n"


def _text(cell: object) -> str:
    return str(cell).replace("|", "\\|")


def _add(part: str) -> None:
    if _current is None:  # a benchmark module run on its own (`python -m benchmarks.loaders`): print only
        return
    _current.parts.append(part)
    write(_current)


def write(section: Section, path: Path = RESULTS) -> None:
    """Replace `section`'s block in `path` (or add it), leaving every other section as it was."""
    text = path.read_text() if path.exists() else HEADER
    block = f"<!-- {section.name}: start -->\n{section.render()}<!-- {section.name}: end -->\n"
    name = re.escape(section.name)
    pattern = re.compile(rf"<!-- {name}: start -->\n.*?<!-- {name}: end -->\n", re.S)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block
    path.write_text(text)


def _machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} cores, load average {load:.1f} at the start"
