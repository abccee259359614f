"""Confluent-compatible Schema Registry (REST API at the root: /subjects/{s}/versions, /schemas/ids/{id}, ...).

What runs: franz-go's in-memory registry (Go module github.com/twmb/franz-go/pkg/sr, package srfake), served on
our port by the small program in devstack/registry/ (pinned by its go.mod/go.sum), built with `go build` into
install/registry/bin. It speaks the Confluent REST API that confluent-kafka's SchemaRegistryClient,
JSONSerializer and JSONDeserializer use, for Avro, JSON Schema and Protobuf schemas. State is in memory: a
restart forgets the schemas (producers re-register on their next send).

Why not Apicurio Registry: Maven Central as reachable here serves only parts of it (3.3.3 lacks
apicurio-registry-schema-util-provider, 3.0.9 its parent pom, 2.6.x apicurio-registry-utils-kafka), and it
publishes no runnable archive, so it can neither be resolved nor assembled. Confluent's registry and Karapace
are not served by any registry reachable here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import requests

from devstack.service import Service, ServiceError

SOURCE_DIR = Path(__file__).resolve().parent.parent / "registry"


class SchemaRegistry(Service):
    name = "registry"
    port_names = ("registry",)
    description = "Schema Registry, Confluent REST API (franz-go srfake, in memory)"
    start_timeout = 30.0
    #: appended to http://host:port by devstack.outputs; the Confluent API is served at the root
    ccompat_path = ""

    @property
    def binary(self) -> Path:
        return self.install_dir / "bin" / "schema-registry"

    def is_installed(self) -> bool:
        return self.binary.exists() and (self.install_dir / "bin" / "source.stamp").exists() and self._stamp_ok()

    def _source_stamp(self) -> str:
        return "\n".join((SOURCE_DIR / f).read_text() for f in ("go.mod", "go.sum", "main.go"))

    def _stamp_ok(self) -> bool:
        return (self.install_dir / "bin" / "source.stamp").read_text() == self._source_stamp()

    def install(self) -> None:
        go = shutil.which("go")
        if not go:
            raise ServiceError("registry: no `go` toolchain found; install Go 1.24+ to build the schema registry")
        self.install_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bin-", dir=self.install_dir))
        try:
            env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly"}
            proc = subprocess.run(
                [go, "build", "-trimpath", "-o", str(tmp / "schema-registry"), "."],
                cwd=SOURCE_DIR,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if proc.returncode != 0:
                raise ServiceError(f"registry: `go build` in {SOURCE_DIR} failed:\n{proc.stdout}{proc.stderr}")
            (tmp / "source.stamp").write_text(self._source_stamp())
            final = self.install_dir / "bin"
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def command(self) -> list[str]:
        return [str(self.binary), "-addr", f"{self.cfg.host}:{self.port}"]

    def ready(self) -> bool:
        resp = requests.get(f"http://{self.cfg.host}:{self.port}/subjects", timeout=2)
        return resp.status_code == 200 and isinstance(resp.json(), list)
