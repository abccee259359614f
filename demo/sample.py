"""The demo's sample on a platform that outlives the run (`make demo` again, `make test` again, another `--rows`).

Two things make a re-run reconcile clean, and both live with the platform, not with the run's work dir:
- the loaders' Kafka checkpoint (`<converted>/_state`, one file per incarnation of a topic: the keys on it), so a
  run from a fresh work dir does not send every record a second time to topics that hold them (the reconcile
  would rightly count each key twice): `<converted>/_state` is a link to the platform's folder;
- the sample itself: a sample of another size or seed gives the same keys other values (and other keys), and the
  platform cannot take such a sample back: the batch lake takes only new ids, the producer sends each key once,
  so the lake and Kafka would keep the earlier values and the reconciliation fail, correctly. Before anything is
  loaded, this run's sample is compared with what MongoDB and the loaders' topics already hold; when they
  disagree the demo stops and says how to go on (run the sample the platform holds, or `make reset` first).
  Keys the platform lacks are fine: loading adds them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: what the pre-load check compares this run's sample with: MongoDB (the batch lake's source) and the topics
CHECKED_STAGES = ("source", "mongodb", "kafka")
MARKER = "sample.json"


class SampleConflict(RuntimeError):
    """The platform holds another sample than this run's: loading it would make the stores disagree."""


def platform_folder() -> Path:
    """The demo's folder in the platform's home (DEVSTACK_HOME): what the demo keeps about the data it loaded."""
    from devstack.config import DevstackConfig

    folder = DevstackConfig.from_env().home / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def link_checkpoints(converted: Path, platform: Path) -> Path:
    """Make `<converted>/_state` (where the loaders keep Kafka's checkpoints) a link to `<platform>/kafka-state`;
    checkpoints an earlier run kept in the work dir itself move there (a name already there wins: it is newer)."""
    target = platform / "kafka-state"
    target.mkdir(parents=True, exist_ok=True)
    state = converted / "_state"
    if state.is_symlink():
        if state.resolve() == target.resolve():
            return target
        state.unlink()
    elif state.is_dir():
        for item in state.iterdir():
            if not (target / item.name).exists():
                shutil.move(str(item), target / item.name)
        shutil.rmtree(state)
    converted.mkdir(parents=True, exist_ok=True)
    state.symlink_to(target.resolve(), target_is_directory=True)
    return target


def conflicts(outputs: Any, converted: Path, datasets: Iterable[str], streamed: Iterable[str]) -> list[str]:
    """One line per store that holds keys this sample lacks, keys with other values, or a key twice."""
    from pipelines.reconcile.plan import Scope
    from pipelines.reconcile.run import reconcile

    # the streamed topics hold one copy per run on purpose: the demo reconciles them from this run's offsets
    scope = Scope(converted, stages=CHECKED_STAGES, exclude=frozenset((d, "kafka") for d in streamed))
    report = reconcile(outputs, list(datasets), scope, store=False)
    found = []
    for part in report.datasets:
        for stage in part.stages[1:]:
            c = stage.comparison
            if stage.error or c is None or not (c.extra.count or c.mismatched.count or c.duplicates.count):
                continue
            found.append(
                f"{part.dataset} {stage.stage} ({stage.where}): {c.extra.count:,} key(s) this sample lacks, "
                f"{c.mismatched.count:,} with other values, {c.duplicates.count:,} held more than once"
            )
    return found


def explain(found: list[str], platform: Path, rows: int, seed: int) -> str:
    held = read_marker(platform)
    again = ""
    if held and (held.get("rows"), held.get("seed")) != (rows, seed):
        again = f"run the sample it holds (`python -m demo --rows {held['rows']} --seed {held['seed']}`), or "
    return (
        f"the platform already holds data this sample ({rows:,} transactions, seed {seed}) disagrees with, so nothing "
        f"was loaded: {'; '.join(found)}. Loaded anyway, the stores would disagree and the reconciliation fail, "
        "rightly: keys with other values keep them in the lake and on Kafka (the batch takes only new ids, the "
        f"producer sends each key once), keys held twice stay twice. To go on: {again}start the platform's data "
        "over: `make reset` (it asks first), then `make demo`"
    )


def read_marker(platform: Path) -> dict[str, int] | None:
    try:
        held: dict[str, int] = json.loads((platform / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return held


def write_marker(platform: Path, rows: int, seed: int) -> None:
    (platform / MARKER).write_text(json.dumps({"rows": rows, "seed": seed}))
