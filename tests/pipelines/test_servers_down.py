"""A server that goes away under the loaders and under reconciliation: each store's and each sink's server is a
sibling of the session's (the same build, started on free ports with its own data, so the session's servers
and what they hold are left alone). Each test loads into it and reconciles it while it runs, kills it (SIGKILL,
as a crash), then runs the loader's and reconcile's CLIs against it: each says so in one line naming the
server's address, exits 1, and prints no traceback. A sibling needs no restart: it is thrown away after."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from contract.outputs import StackOutputs
from devstack import services as registry
from devstack.config import DevstackConfig
from devstack.process import free_port
from devstack.service import Service
from loaders.convert import convert_dir
from loaders.generate import generate_dataset
from loaders.load import load_dataset
from pipelines.common import REPO_ROOT
from pipelines.reconcile.plan import Scope
from pipelines.reconcile.run import reconcile

pytestmark = pytest.mark.devstack

DATASET = "cards"
#: the server under each loader target and reconcile stage: server -> (loader target, reconcile stages)
CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "moto": ("dynamodb", ("dynamodb", "lake-dlt", "lake-s3-sink")),
    "ferretdb": ("mongodb", ("mongodb",)),
    "firestore": ("firestore", ("firestore",)),
    "kafka": ("kafka", ("kafka",)),
}


def sibling(devstack: Any, home: Path, name: str) -> Service:
    """A service of the session's build with its own home and free ports (not started)."""
    install = devstack.service(name).cfg.install_dir
    ports = {key: free_port() for key in registry.service_class(name).port_names}
    return registry.make(name, DevstackConfig(home=home, ports=ports, install=install))


def addresses(server: Service) -> list[str]:
    """Where the server listens: "moto" is two servers (s3, dynamodb), and an error names the one it reached."""
    return [f"127.0.0.1:{server.cfg.port(key)}" for key in server.port_names]


def pointed_at(outputs: dict[str, Any], server: Service, tag: str) -> StackOutputs:
    """The stack outputs with `server`'s connection facts in place of the session's, and names of this test's."""
    mine = copy.deepcopy(outputs)
    published = server.published()
    mine["endpoints"] = {**(mine.get("endpoints") or {}), **published.pop("endpoints", {})}
    mine.update(published)
    mine["mongodb_database"] = f"test-down-{tag}"
    mine["kafka_topics"] = {**mine["kafka_topics"], DATASET: f"test-down-{tag}-{DATASET}"}
    mine["s3_sink"] = {**mine["s3_sink"], "topics": [mine["kafka_topics"][DATASET]]}
    return cast(StackOutputs, mine)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw, out = tmp_path_factory.mktemp("raw"), tmp_path_factory.mktemp("json")
    generate_dataset(raw, 40, seed=5)
    assert convert_dir(raw, out).ok
    for path in out.glob("*.jsonl"):  # the one dataset only: reconcile reads every file it finds
        if path.stem != DATASET:
            path.unlink()
    return out


@pytest.fixture(params=list(CASES))
def server(
    request: pytest.FixtureRequest, devstack: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """A running sibling of the session's `request.param` server, stopped at the end whatever happened."""
    running = sibling(devstack, tmp_path_factory.mktemp(f"down-{request.param}"), request.param)
    try:
        running.start()
        running.provision()  # moto: the emulated account's buckets and tables
        yield running
    finally:
        running.stop()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_a_server_killed_under_a_load_and_a_reconcile_is_one_line_naming_it(
    platform: Callable[..., dict[str, Any]], server: Service, source: Path, tmp_path: Path
) -> None:
    target, stages = CASES[server.name]
    outputs = pointed_at(platform("registry"), server, uuid.uuid4().hex[:8])
    if server.name == "kafka":
        _create_topic(outputs, outputs["kafka_topics"][DATASET])
    scope = Scope(source_dir=source, stages=("source", *stages))

    # while it runs: the load goes in and every stage of it reads without an error (so the outputs point at it)
    loaded = load_dataset(target, DATASET, outputs, source, progress=False, count=False)
    assert loaded.failed == 0 and loaded.written > 0, loaded
    before = reconcile(outputs, [DATASET], scope, store=False)
    assert [s.error for s in before.datasets[0].stages] == [None] * (1 + len(stages))

    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    assert server.kill(), f"{server.name} was not running"
    load = cli("loaders", "load", "-d", target, "--dataset", DATASET, "--outputs", str(path),
               "--source", str(source), "--no-progress")  # fmt: skip
    check = cli("pipelines", "reconcile", "--outputs", str(path), "--source", str(source), "--dataset", DATASET,
                *[arg for stage in scope.stages for arg in ("--stage", stage)], "--no-store", "--json",
                "--html", str(tmp_path / "r.html"))  # fmt: skip

    lines = [line for line in (load.stdout + load.stderr).splitlines() if line.strip()]
    assert load.returncode == 1, load.stdout + load.stderr
    assert len(lines) == 1 and any(a in lines[0] for a in addresses(server)), lines
    assert check.returncode == 1, check.stdout + check.stderr
    assert "Traceback" not in check.stderr, check.stderr
    report = json.loads(check.stdout)
    errors = {s["stage"]: s["error"] for s in report["datasets"][0]["stages"]}
    assert errors.pop("source") is None
    assert set(errors) == set(stages)
    for stage, error in errors.items():
        assert error and "\n" not in error and any(a in error for a in addresses(server)), (stage, error)
    assert report["failures"] == [f"{DATASET} {stage}: {error}" for stage, error in errors.items()]


def _create_topic(outputs: StackOutputs, topic: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": outputs["kafka_bootstrap_servers"]})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(timeout=30)
