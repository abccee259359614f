"""`dbt build` (every model and its tests, in dependency order) and `dbt docs generate`, with a profile made from
the stack outputs, written to a 0600 file in a private temp folder removed after the call.

DuckDB's dbt runs in this process. BigQuery's adapter cannot share this environment (dbt-bigquery pins
google-cloud-storage below what gcsfs needs), so it runs from its own virtualenv: the `dbt` that
`$KDE_DBT_BIGQUERY` names (the Airflow image and MWAA's startup script install it; `python -m pipelines.transform
install-bigquery` anywhere else).

The result holds one line per model and test (status, seconds, failures, message), read from dbt's
run_results.json and manifest.json in `work_dir`, so an Airflow log or the demo shows which node failed and why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract.lake_layout import LakeTarget
from pipelines.transform import PROJECT_DIR
from pipelines.transform.profiles import dbt_vars, profile, warehouse_of

#: dbt's docs as one self-contained page (manifest and catalog inlined): it opens from the file system
DOCS_PAGE = "static_index.html"
#: the environment variable naming the `dbt` executable of BigQuery's own virtualenv
DBT_BIGQUERY_ENV = "KDE_DBT_BIGQUERY"
RUN_RESULTS = "run_results.json"


class TransformError(RuntimeError):
    """dbt could not run at all (bad profile, unreadable lake, broken project); the message says which."""


@dataclass(frozen=True)
class NodeResult:
    name: str  # the model's or the test's name (a test's names its model and column)
    kind: str  # model | test
    layer: str  # silver | gold | the model folder the node belongs to
    status: str  # success | error | fail | warn | pass | skipped
    seconds: float
    failures: int | None
    message: str

    @property
    def ok(self) -> bool:
        return self.status in ("success", "pass")


@dataclass
class BuildResult:
    nodes: list[NodeResult] = field(default_factory=list)
    target_dir: Path | None = None
    docs_page: Path | None = None

    @property
    def ok(self) -> bool:
        return bool(self.nodes) and all(n.ok for n in self.nodes)

    @property
    def failed(self) -> list[NodeResult]:
        """The nodes that failed themselves (not those skipped because a node upstream failed)."""
        return [n for n in self.nodes if not n.ok and n.status != "skipped"]

    @property
    def skipped(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status == "skipped"]

    def seconds_by_layer(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for node in self.nodes:
            key = f"{node.layer} {node.kind}s"
            totals[key] = totals.get(key, 0.0) + node.seconds
        return totals

    def lines(self) -> list[str]:
        """One line per node, failures first, then the skipped: what a log or a terminal shows."""
        rank = {"skipped": 1, "success": 2, "pass": 2}
        ordered = sorted(self.nodes, key=lambda n: (rank.get(n.status, 0), n.layer, n.kind, n.name))
        return [
            f"{n.status.upper():>7} {n.kind:<5} {n.name} ({n.seconds:.2f} s)"
            + (f": {n.message}" if not n.ok and n.message else "")
            for n in ordered
        ]


def default_work_dir(outputs: Mapping[str, Any]) -> Path:
    """Beside the DuckDB file (devstack: under its home), else a folder in the temp dir."""
    warehouse = warehouse_of(outputs)
    if warehouse["kind"] == "duckdb":
        return Path(warehouse["path"]).parent / "dbt"
    return Path(tempfile.gettempdir()) / "kde-dbt"


def build(
    outputs: Mapping[str, Any],
    *,
    target: LakeTarget | None = None,
    keyfile: Mapping[str, Any] | None = None,
    work_dir: Path | None = None,
    select: Sequence[str] = (),
    docs: bool = True,
    landing_root: str | None = None,
) -> BuildResult:
    """Build silver and gold (models and tests) into the stack's warehouse; `target`: where the batch landed (by
    default the lake the warehouse reads, from the outputs); `keyfile`: BigQuery's service-account key;
    `landing_root`: another place with dlt's table folders (a local folder of parquet files, say)."""
    work = work_dir or default_work_dir(outputs)
    warehouse = warehouse_of(outputs)
    invoke: Callable[[list[str]], None] = _in_process if warehouse["kind"] == "duckdb" else _executable(bigquery_dbt())
    if warehouse["kind"] == "duckdb":
        Path(warehouse["path"]).parent.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    (work / "target" / RUN_RESULTS).unlink(missing_ok=True)  # a failed start must not read the last run's
    vars_arg = json.dumps({**dbt_vars(outputs, target), **({"landing_root": landing_root} if landing_root else {})})
    common = ["--project-dir", str(PROJECT_DIR), "--target-path", str(work / "target"), "--log-path", str(work)]
    selection = ["--select", *select] if select else []
    with profiles_dir(profile(outputs, target, keyfile)) as profiles:
        args = [*common, "--profiles-dir", str(profiles), "--vars", vars_arg]
        invoke(["build", *args, *selection])
        result = BuildResult(nodes=nodes_of(work / "target"), target_dir=work / "target")
        if docs and result.nodes:
            invoke(["docs", "generate", "--static", *args])
            page = work / "target" / DOCS_PAGE
            result.docs_page = page if page.exists() else None
    return result


def bigquery_dbt() -> Path:
    """BigQuery's `dbt`, from `$KDE_DBT_BIGQUERY`; TransformError naming the variable when it is not there."""
    named = os.environ.get(DBT_BIGQUERY_ENV, "")
    if not named or not Path(named).is_file():
        raise TransformError(
            f"BigQuery's dbt is not installed: ${DBT_BIGQUERY_ENV}={named!r} names no file "
            "(install it with `python -m pipelines.transform install-bigquery`)"
        )
    return Path(named)


def _in_process(args: list[str]) -> None:
    try:
        _invoke(args)
    finally:
        _release_duckdb()


def _release_duckdb() -> None:
    """dbt-duckdb keeps its database open in the process after a run; close it, so this process (or another)
    can open the file again, read-only or for the next build."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()


def _executable(dbt: Path) -> Callable[[list[str]], None]:
    def invoke(args: list[str]) -> None:
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        done = subprocess.run(
            [str(dbt), *args, "--no-use-colors", "--quiet"], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode > 1:  # 1: a node failed (run_results say which); 2: dbt could not run
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise TransformError(f"dbt {args[0]} ({dbt}): {' | '.join(tail) or f'exit {done.returncode}'}")

    return invoke


@contextmanager
def profiles_dir(content: Mapping[str, Any]) -> Iterator[Path]:
    """A private folder holding profiles.yml (0600), removed on the way out: the profile carries secrets."""
    folder = Path(tempfile.mkdtemp(prefix="kde-dbt-profiles-"))
    try:
        path = folder / "profiles.yml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(content, handle)  # JSON is YAML
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _invoke(args: list[str]) -> None:
    from dbt.cli.main import dbtRunner

    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    outcome = dbtRunner().invoke([*args, "--no-use-colors", "--quiet"])
    if outcome.exception is not None:
        raise TransformError(f"dbt {args[0]} ({PROJECT_DIR}): {outcome.exception}") from None
    if outcome.result is None:
        raise TransformError(f"dbt {args[0]} ({PROJECT_DIR}): no result (see the log in --log-path)")


def nodes_of(target_dir: Path) -> list[NodeResult]:
    """One NodeResult per node of the last build, from its run_results.json and manifest.json."""
    results_path = target_dir / RUN_RESULTS
    if not results_path.exists():
        raise TransformError(f"dbt build ({PROJECT_DIR}): failed before any node ran (see dbt.log)")
    results = json.loads(results_path.read_text(encoding="utf-8"))["results"]
    nodes = json.loads((target_dir / "manifest.json").read_text(encoding="utf-8"))["nodes"]
    return [_node(r, nodes.get(r["unique_id"], {})) for r in results]


def _node(result: Mapping[str, Any], node: Mapping[str, Any]) -> NodeResult:
    resource_type = node.get("resource_type") or result["unique_id"].split(".", 1)[0]
    return NodeResult(
        name=node.get("name") or result["unique_id"].rsplit(".", 1)[-1],
        kind="test" if resource_type == "test" else str(resource_type),
        layer=_layer(node),
        status=str(result["status"]),
        seconds=float(result.get("execution_time") or 0.0),
        failures=result.get("failures"),
        message=(result.get("message") or "").strip(),
    )


def _layer(node: Mapping[str, Any]) -> str:
    """silver | gold: a model's folder; a test's is that of the model it is attached to."""
    if node.get("resource_type") != "test":
        fqn = list(node.get("fqn") or [])
        return fqn[1] if len(fqn) > 2 else "-"
    model = (node.get("attached_node") or "").rsplit(".", 1)[-1]
    return model.split("_", 1)[0] if "_" in model else "-"
