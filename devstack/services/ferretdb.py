"""MongoDB wire protocol: FerretDB v1 with its SQLite backend, data under run/ferretdb/data.

What runs: the small program in devstack/go/ferretdb/ (FerretDB's embeddable package, pinned at v1.24.0 by
go.mod/go.sum), built with `go build` into install/ferretdb/bin. The stock cmd/ferretdb cannot be used from
the module proxy (it panics on a version file that only FerretDB's own repository generates).
Clients: pymongo with `mongodb_uri` from the outputs (no authentication on loopback).
"""

from __future__ import annotations

from devstack.services._go import GO_DIR, GoService


class FerretDB(GoService):
    name = "ferretdb"
    source_dir = GO_DIR / "ferretdb"
    binary_name = "ferretdb"
    stamp_files = ("go.mod", "go.sum", "main.go")
    port_names = ("ferretdb",)
    description = "MongoDB wire protocol (FerretDB v1, SQLite)"
    start_timeout = 30.0

    @property
    def uri(self) -> str:
        return f"mongodb://{self.cfg.host}:{self.port}/"

    def command(self) -> list[str]:
        return [
            str(self.binary),
            "-listen-addr",
            f"{self.cfg.host}:{self.port}",
            "-sqlite-url",
            f"file:{self.data_dir}/",
            # at warn FerretDB logs every command it refuses, e.g. the endSessions each pymongo client sends
            "-log-level",
            "error",
        ]

    def ready(self) -> bool:
        import pymongo
        from pymongo.errors import PyMongoError

        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            self.uri, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000
        )
        try:
            return client.admin.command("ping").get("ok") == 1.0
        except PyMongoError:
            return False
        finally:
            client.close()
