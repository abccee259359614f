"""GCS (devstack's fake-gcs-server on its filesystem backend): buckets, objects and their metadata written before a
kill -9 or a stop are all there after the next start, read through google-cloud-storage as the loaders read them."""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from contract.clients import gcs_client
from devstack.config import DevstackConfig
from devstack.services.gcs import FakeGcs

pytestmark = pytest.mark.devstack

BIG = 9 * 1024 * 1024  # above the client's 8 MiB threshold: a resumable upload


def _write(outputs: dict[str, Any]) -> dict[str, Any]:
    """A new bucket and, in the landing bucket, a JSON object with custom metadata and a big binary one."""
    client = gcs_client(outputs)
    run = uuid.uuid4().hex[:8]
    extra = client.create_bucket(f"devstack-durable-{run}")
    bucket = client.bucket(outputs["gcs_buckets"]["landing"])
    small = bucket.blob(f"durable/{run}/cards/1.json")
    small.metadata = {"dataset": "cards", "run": run}
    small.upload_from_string(json.dumps({"id": 1, "run": run}), content_type="application/json")
    big = random.Random(run).randbytes(BIG)
    bucket.blob(f"durable/{run}/big.bin").upload_from_string(big)
    return {"run": run, "extra_bucket": extra.name, "big": big, "small_md5": small.md5_hash}


def _read_back(outputs: dict[str, Any], written: dict[str, Any]) -> None:
    client = gcs_client(outputs)
    run = written["run"]
    assert written["extra_bucket"] in {b.name for b in client.list_buckets()}
    bucket = client.bucket(outputs["gcs_buckets"]["landing"])
    names = sorted(b.name for b in client.list_blobs(bucket, prefix=f"durable/{run}/"))
    assert names == [f"durable/{run}/big.bin", f"durable/{run}/cards/1.json"]
    small = bucket.get_blob(f"durable/{run}/cards/1.json")
    assert small is not None
    assert (small.content_type, small.metadata, small.md5_hash) == (
        "application/json",
        {"dataset": "cards", "run": run},
        written["small_md5"],
    )
    assert json.loads(small.download_as_bytes()) == {"id": 1, "run": run}
    assert bucket.blob(f"durable/{run}/big.bin").download_as_bytes() == written["big"]


@pytest.mark.parametrize("how", ["kill -9", "stop"])
def test_buckets_objects_and_metadata_survive_a_restart(devstack: Callable[..., Any], how: str) -> None:
    outputs = devstack("gcs")
    written = _write(outputs)
    gcs = FakeGcs(DevstackConfig.from_env())
    assert gcs.kill() if how == "kill -9" else gcs.stop(), "the GCS emulator was not running"
    gcs.start()
    _read_back(outputs, written)


def test_a_file_a_kill_left_without_metadata_is_moved_aside(devstack: Callable[..., Any]) -> None:
    """A kill between writing an object's content and setting its metadata leaves a file the server cannot serve,
    which made it fail every listing of that bucket: the next start moves it out of the bucket."""
    outputs = devstack("gcs")
    written = _write(outputs)
    gcs = FakeGcs(DevstackConfig.from_env())
    assert gcs.kill()
    landing = outputs["gcs_buckets"]["landing"]
    stray = gcs.storage_root / landing / "durable" / written["run"] / ".1.json123456"
    stray.write_bytes(b'{"half": ')
    assert not any(name.startswith("user.") for name in os.listxattr(stray))
    gcs.start()

    _read_back(outputs, written)
    orphan = gcs.orphans_dir / landing / "durable" / written["run"] / stray.name
    assert orphan.read_bytes() == b'{"half": '
    assert not stray.exists()
