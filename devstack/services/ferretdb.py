"""MongoDB wire protocol: FerretDB v1 with its SQLite backend, data under run/ferretdb/data.

What runs: the small program in devstack/go/ferretdb/ (FerretDB's embeddable package, pinned at v1.24.0 by
go.mod/go.sum), built with `go build` into install/ferretdb/bin, with the _id lookup fix below. The stock
cmd/ferretdb cannot be used from the module proxy (it panics on a version file that only FerretDB's own
repository generates).
Clients: pymongo with `mongodb_uri` from the outputs (no authentication on loopback).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from devstack.service import ServiceError
from devstack.services._go import GO_DIR, GoService

MODULE = "github.com/FerretDB/FerretDB"
#: FerretDB v1.24's SQLite backend finds documents by `_ferretdb_sjson->'$._id'`, but the unique index it creates
#: is on `_ferretdb_sjson->"_id"`; SQLite matches index expressions by their text, so every find, update and
#: delete by _id scanned the whole table (~20 ms per replaced document at 10k documents: loads went quadratic).
#: The build patches that one constant to the indexed form, checked against the pinned source.
ID_COLUMN_FILE = "internal/backends/sqlite/metadata/metadata.go"
ID_COLUMN_FIX = ("IDColumn = DefaultColumn + \"->'$._id'\"", 'IDColumn = DefaultColumn + `->"_id"`')


class FerretDB(GoService):
    name = "ferretdb"
    source_dir = GO_DIR / "ferretdb"
    binary_name = "ferretdb"
    stamp_files = ("go.mod", "go.sum", "main.go")
    port_names = ("ferretdb",)
    description = "MongoDB wire protocol (FerretDB v1, SQLite)"
    start_timeout = 30.0

    def build_patches(self) -> list[str]:
        return [f"{ID_COLUMN_FILE}: {ID_COLUMN_FIX[0]} -> {ID_COLUMN_FIX[1]}"]

    def build_args(self, scratch: Path, env: dict[str, str]) -> list[str]:
        """Build against a patched copy of the pinned FerretDB module: `-modfile` names a copy of go.mod whose
        `replace` points at it (go build refuses overlays of files in the module cache)."""
        listed = subprocess.run(
            f"go mod download {MODULE} && go list -m -f '{{{{.Dir}}}}' {MODULE}", shell=True,
            cwd=self.source_dir, env=env, capture_output=True, text=True, timeout=self.build_timeout,
        )  # fmt: skip
        if listed.returncode != 0 or not listed.stdout.strip():
            where = f"`go mod download` / `go list -m` in {self.source_dir}"
            raise ServiceError(f"{self.name}: cannot locate {MODULE} ({where}):\n{listed.stderr}")
        copy = scratch / "ferretdb-module"
        shutil.copytree(listed.stdout.strip(), copy)
        target = copy / ID_COLUMN_FILE
        text = target.read_text()
        if text.count(ID_COLUMN_FIX[0]) != 1:
            raise ServiceError(f"{self.name}: {ID_COLUMN_FILE} of {MODULE} no longer holds `{ID_COLUMN_FIX[0]}`")
        target.chmod(0o644)
        target.write_text(text.replace(*ID_COLUMN_FIX))
        for name in ("go.mod", "go.sum"):
            shutil.copy(self.source_dir / name, scratch / name)
        modfile = scratch / "go.mod"
        modfile.chmod(0o644)
        modfile.write_text(modfile.read_text() + f"\nreplace {MODULE} => {copy}\n")
        return ["-modfile", str(modfile)]

    @property
    def uri(self) -> str:
        return f"mongodb://{self.cfg.host}:{self.port}/"

    def published(self) -> dict[str, Any]:
        return {"mongodb_uri": self.uri}

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
