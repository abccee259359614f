"""Google Cloud Storage emulator: fake-gcs-server, JSON API over plain http on the loopback address.

What runs: fake-gcs-server (Go module github.com/fsouza/fake-gcs-server), pinned by the tools module in
devstack/go/gcs/ (go.mod + go.sum) and built with `go build` into install/gcs/bin. It serves the JSON and
upload APIs google-cloud-storage uses (buckets, simple and resumable uploads, downloads, listing with prefixes).
State is on disk (its filesystem backend), so buckets, objects and their metadata survive `devstack down`/`up`
and a kill -9: under run/gcs/data/, `buckets/<bucket>/<object name>` is each object's content as a plain file
(names with `/` become folders), its metadata (content type, custom metadata, checksums, generation) in the
file's `user.metadata` extended attribute (or a `<file>.metadata` sidecar where the filesystem has no xattrs),
and `buckets/<bucket>.bucketMetadata` each bucket's attributes. It grows as the objects do, plus under a kilobyte
of metadata an object. The server writes content to a temporary file (in data/tmp/), fsyncs and renames it over
the object, then sets the metadata, and answers after both. A kill between those steps leaves a file without
metadata, on which the server would fail every listing of its bucket: `prepare()` moves such files to
data/orphans/ before each start. That write was never acknowledged, but an object it was overwriting has lost
its previous content with the rename (the window is one system call wide).
Limits of the filesystem backend: no object versioning, and an object `a` cannot coexist with an object `a/b`
(a file and a folder of one name).
Clients: `storage.Client(project=..., credentials=AnonymousCredentials(), client_options={"api_endpoint": URL})`
or `STORAGE_EMULATOR_HOST=http://127.0.0.1:<port>` (with the scheme).

Why not gcp-storage-emulator (pure Python): it works too, but fake-gcs-server is the emulator most GCS
tooling is tested against, and this build costs about a minute once and is cached.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import requests

from devstack import account
from devstack.services._go import GO_DIR, GoService

MODULE = "github.com/fsouza/fake-gcs-server"
#: where the filesystem backend keeps an object's metadata: an extended attribute, else a sidecar file
METADATA_XATTR = "user.metadata"
METADATA_SIDECAR = ".metadata"


def has_metadata(path: Path) -> bool:
    if path.with_name(path.name + METADATA_SIDECAR).exists():
        return True
    try:
        os.getxattr(path, METADATA_XATTR)
    except OSError:
        return False
    return True


def files_without_metadata(root: Path) -> list[Path]:
    """Files in the bucket folders that the server cannot serve: content a kill left before its metadata was set,
    and the temporary files of an interrupted write."""
    orphans = []
    for bucket in (p for p in root.iterdir() if p.is_dir()) if root.is_dir() else ():
        for folder, _, names in os.walk(bucket):
            for name in names:
                path = Path(folder) / name
                if not name.endswith(METADATA_SIDECAR) and not has_metadata(path):
                    orphans.append(path)
    return orphans


class FakeGcs(GoService):
    name = "gcs"
    source_dir = GO_DIR / "gcs"
    build_target = MODULE
    binary_name = "fake-gcs-server"
    port_names = ("gcs",)
    description = "GCS JSON API (fake-gcs-server, on disk)"
    start_timeout = 30.0

    @property
    def url(self) -> str:
        return f"http://{self.cfg.host}:{self.port}"

    @property
    def storage_root(self) -> Path:
        return self.data_dir / "buckets"

    @property
    def orphans_dir(self) -> Path:
        return self.data_dir / "orphans"

    @property
    def temp_dir(self) -> Path:
        # the server's atomic writes stage files in $TMPDIR when it is on the same filesystem: here, not in /tmp
        return self.data_dir / "tmp"

    def prepare(self) -> None:
        self.storage_root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        self.temp_dir.mkdir(parents=True)
        for path in files_without_metadata(self.storage_root):
            target = self.orphans_dir / path.relative_to(self.storage_root)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)

    def env(self) -> dict[str, str]:
        return {"TMPDIR": str(self.temp_dir)}

    def command(self) -> list[str]:
        return [
            str(self.binary),
            "-scheme",
            "http",
            "-host",
            self.cfg.host,
            "-port",
            str(self.port),
            "-backend",
            "filesystem",
            "-filesystem-root",
            str(self.storage_root),
            # resumable uploads are continued at the Location this returns
            "-external-url",
            self.url,
            "-location",
            "US",
            "-log-level",
            "warn",
        ]

    def ready(self) -> bool:
        resp = requests.get(f"{self.url}/storage/v1/b", timeout=2)
        return resp.status_code == 200 and resp.json().get("kind") == "storage#buckets"

    def published(self) -> dict[str, Any]:
        return {
            "gcp_project": account.GCP_PROJECT,
            "endpoints": {"gcs": self.url},
            "gcs_buckets": account.gcs_buckets(),
        }

    def provision(self) -> None:
        """The account's buckets, created when missing (they persist, so only a fresh data folder lacks them)."""
        base = f"{self.url}/storage/v1/b"
        existing = {b["name"] for b in requests.get(base, timeout=10).json().get("items", [])}
        for bucket in account.gcs_buckets().values():
            if bucket not in existing:
                requests.post(
                    base, params={"project": account.GCP_PROJECT}, json={"name": bucket}, timeout=10
                ).raise_for_status()
