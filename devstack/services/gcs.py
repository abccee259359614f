"""Google Cloud Storage emulator: fake-gcs-server, JSON API over plain http on the loopback address.

What runs: fake-gcs-server (Go module github.com/fsouza/fake-gcs-server), pinned by the tools module in
devstack/go/gcs/ (go.mod + go.sum) and built with `go build` into install/gcs/bin. It serves the JSON and
upload APIs google-cloud-storage uses (buckets, simple and resumable uploads, downloads, listing with prefixes).
State is in memory: a restart forgets buckets and objects (`devstack up` provisions the buckets again).
Clients: `storage.Client(project=..., credentials=AnonymousCredentials(), client_options={"api_endpoint": URL})`
or `STORAGE_EMULATOR_HOST=http://127.0.0.1:<port>` (with the scheme).

Why not gcp-storage-emulator (pure Python): it works too, but fake-gcs-server is the emulator most GCS
tooling is tested against, and this build costs about a minute once and is cached.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import requests

from devstack.service import Service, ServiceError

SOURCE_DIR = Path(__file__).resolve().parent.parent / "go" / "gcs"
MODULE = "github.com/fsouza/fake-gcs-server"
STAMP_FILES = ("go.mod", "go.sum")


class FakeGcs(Service):
    name = "gcs"
    port_names = ("gcs",)
    description = "GCS JSON API (fake-gcs-server, in memory)"
    start_timeout = 30.0

    @property
    def binary(self) -> Path:
        return self.install_dir / "bin" / "fake-gcs-server"

    @property
    def stamp_file(self) -> Path:
        return self.install_dir / "bin" / "source.stamp"

    @staticmethod
    def _source_stamp() -> str:
        return "\n".join((SOURCE_DIR / f).read_text() for f in STAMP_FILES)

    def is_installed(self) -> bool:
        return self.binary.exists() and self.stamp_file.exists() and self.stamp_file.read_text() == self._source_stamp()

    def install(self) -> None:
        go = shutil.which("go")
        if not go:
            raise ServiceError(f"gcs: no `go` toolchain found; install Go 1.26+ to build {MODULE} ({SOURCE_DIR})")
        self.install_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bin-", dir=self.install_dir))
        try:
            # GOTOOLCHAIN=local: fail with a clear version error instead of fetching another toolchain
            env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly", "GOTOOLCHAIN": "local"}
            proc = subprocess.run(
                [go, "build", "-trimpath", "-o", str(tmp / "fake-gcs-server"), MODULE],
                cwd=SOURCE_DIR,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            if proc.returncode != 0:
                raise ServiceError(f"gcs: `go build {MODULE}` in {SOURCE_DIR} failed:\n{proc.stdout}{proc.stderr}")
            (tmp / "source.stamp").write_text(self._source_stamp())
            final = self.install_dir / "bin"
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"http://{self.cfg.host}:{self.port}"

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
            "memory",
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
