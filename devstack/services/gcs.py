"""Google Cloud Storage emulator: fake-gcs-server, JSON API over plain http on the loopback address.

What runs: fake-gcs-server (Go module github.com/fsouza/fake-gcs-server), pinned by the tools module in
devstack/go/gcs/ (go.mod + go.sum) and built with `go build` into install/gcs/bin. It serves the JSON and
upload APIs google-cloud-storage uses (buckets, simple and resumable uploads, downloads, listing with prefixes).
State is in memory: a restart forgets buckets and objects (`devstack up` creates the account's buckets again).
Clients: `storage.Client(project=..., credentials=AnonymousCredentials(), client_options={"api_endpoint": URL})`
or `STORAGE_EMULATOR_HOST=http://127.0.0.1:<port>` (with the scheme).

Why not gcp-storage-emulator (pure Python): it works too, but fake-gcs-server is the emulator most GCS
tooling is tested against, and this build costs about a minute once and is cached.
"""

from __future__ import annotations

from typing import Any

import requests

from devstack import account
from devstack.services._go import GO_DIR, GoService

MODULE = "github.com/fsouza/fake-gcs-server"


class FakeGcs(GoService):
    name = "gcs"
    source_dir = GO_DIR / "gcs"
    build_target = MODULE
    binary_name = "fake-gcs-server"
    port_names = ("gcs",)
    description = "GCS JSON API (fake-gcs-server, in memory)"
    start_timeout = 30.0

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

    def published(self) -> dict[str, Any]:
        return {
            "gcp_project": account.GCP_PROJECT,
            "endpoints": {"gcs": self.url},
            "gcs_buckets": account.gcs_buckets(),
        }

    def provision(self) -> None:
        base = f"{self.url}/storage/v1/b"
        existing = {b["name"] for b in requests.get(base, timeout=10).json().get("items", [])}
        for bucket in account.gcs_buckets().values():
            if bucket not in existing:
                requests.post(
                    base, params={"project": account.GCP_PROJECT}, json={"name": bucket}, timeout=10
                ).raise_for_status()
