"""`python -m devstack reset`: data survives `down`/`up`, and only a confirmed reset deletes it (FerretDB, whose
SQLite files are the cheapest durable data devstack keeps), on a private home and ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest

from devstack import cli
from devstack.config import DEFAULT_PORTS, DevstackConfig
from devstack.platform import Platform
from devstack.process import free_port

pytestmark = pytest.mark.devstack


@pytest.fixture
def private_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    """A devstack of its own (home, ports) sharing the built services, as `python -m devstack` would see it."""
    monkeypatch.setenv("DEVSTACK_INSTALL", str(DevstackConfig.from_env().install_dir))
    monkeypatch.setenv("DEVSTACK_HOME", str(tmp_path / "devstack"))
    for name in DEFAULT_PORTS:
        monkeypatch.setenv(f"DEVSTACK_PORT_{name.upper()}", str(free_port()))
    platform = Platform()
    yield platform
    platform.down(report=lambda _: None)


def _client(platform: Platform) -> pymongo.MongoClient[dict[str, Any]]:
    return pymongo.MongoClient(
        platform.services(["ferretdb"])[0].published()["mongodb_uri"], serverSelectionTimeoutMS=10_000
    )


def _documents(platform: Platform) -> list[str]:
    with _client(platform) as client:
        return [doc["_id"] for doc in client["kde"]["reset_probe"].find({})]


def _insert(platform: Platform, ident: str) -> None:
    with _client(platform) as client:
        client["kde"]["reset_probe"].insert_one({"_id": ident})


def test_data_survives_down_and_only_a_confirmed_reset_deletes_it(private_env: Platform) -> None:
    quiet = {"report": lambda _: None}
    private_env.up(["ferretdb"], **quiet)
    _insert(private_env, "kept")
    private_env.down(["ferretdb"], **quiet)
    private_env.up(["ferretdb"], **quiet)
    assert _documents(private_env) == ["kept"]

    # no terminal to ask in and no --yes: nothing is deleted, and the service keeps running
    assert cli.main(["reset", "ferretdb"]) == 2
    assert private_env.services(["ferretdb"])[0].is_running()
    assert _documents(private_env) == ["kept"]

    assert cli.main(["reset", "ferretdb", "--yes"]) == 0
    ferretdb = private_env.services(["ferretdb"])[0]
    assert not ferretdb.is_running()
    assert not any(p.exists() for p in ferretdb.data_paths())
    private_env.up(["ferretdb"], **quiet)
    assert _documents(private_env) == []


def test_reset_names_what_it_would_delete_and_its_size(private_env: Platform) -> None:
    private_env.up(["ferretdb"], report=lambda _: None)
    _insert(private_env, "sized")
    held = {entry.service: entry for entry in private_env.data_held(["ferretdb", "moto"])}
    assert held["ferretdb"].paths and held["ferretdb"].size_bytes > 0
