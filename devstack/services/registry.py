"""Confluent-compatible Schema Registry (REST API at the root: /subjects/{s}/versions, /schemas/ids/{id}, ...).

What runs: franz-go's in-memory registry (Go module github.com/twmb/franz-go/pkg/sr, package srfake), served on
our port by the small program in devstack/go/registry/ (pinned by its go.mod/go.sum), built with `go build` into
install/registry/bin. It speaks the Confluent REST API that confluent-kafka's SchemaRegistryClient,
JSONSerializer and JSONDeserializer use, for Avro, JSON Schema and Protobuf schemas. State is in memory: a
restart forgets the schemas (producers re-register on their next send).

Why not Apicurio Registry: Maven Central as reachable here serves only parts of it (3.3.3 lacks
apicurio-registry-schema-util-provider, 3.0.9 its parent pom, 2.6.x apicurio-registry-utils-kafka), and it
publishes no runnable archive, so it can neither be resolved nor assembled. Confluent's registry and Karapace
are not served by any registry reachable here.
"""

from __future__ import annotations

from typing import Any

import requests

from devstack.services._go import GO_DIR, GoService

SOURCE_DIR = GO_DIR / "registry"


class SchemaRegistry(GoService):
    name = "registry"
    source_dir = SOURCE_DIR
    binary_name = "schema-registry"
    stamp_files = ("go.mod", "go.sum", "main.go")
    port_names = ("registry",)
    description = "Schema Registry, Confluent REST API (franz-go srfake, in memory)"
    start_timeout = 30.0
    #: the Confluent-compatible API's base path (served at the root here)
    ccompat_path = ""

    def command(self) -> list[str]:
        return [str(self.binary), "-addr", f"{self.cfg.host}:{self.port}"]

    def published(self) -> dict[str, Any]:
        return {"schema_registry_url": f"http://{self.cfg.host}:{self.port}{self.ccompat_path}"}

    def ready(self) -> bool:
        resp = requests.get(f"http://{self.cfg.host}:{self.port}/subjects", timeout=2)
        return resp.status_code == 200 and isinstance(resp.json(), list)
