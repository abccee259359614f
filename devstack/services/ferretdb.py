"""MongoDB wire protocol: FerretDB v1 with its SQLite backend, data under run/ferretdb/data.

What runs: the small program in devstack/go/ferretdb/ (FerretDB's embeddable package, pinned at v1.24.0 by
go.mod/go.sum), built with `go build` into install/ferretdb/bin, with the _id lookup fix, the numeric pre-filter,
the decode fast path, find's commonest projections in place and, in its wire module, the NaN check below
(PATCHED_MODULES; a change to them or to _patch/ rebuilds it on the next `up`). The stock cmd/ferretdb cannot be
used from the module proxy (it panics on a version file that only FerretDB's own repository generates).
Clients: pymongo with `mongodb_uri` from the outputs (no authentication on loopback).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any, NamedTuple

from devstack.service import ServiceError
from devstack.services._go import GO_DIR, GoService

MODULE = "github.com/FerretDB/FerretDB"
#: Text replacements in the pinned module's sources, each checked to occur exactly once: (file, old, new).
#: 1. FerretDB v1.24's SQLite backend finds documents by `_ferretdb_sjson->'$._id'`, but the unique index it creates
#: is on `_ferretdb_sjson->"_id"`; SQLite matches index expressions by their text, so every find, update and
#: delete by _id scanned the whole table (loads went quadratic).
#: 2., 3. Any other filter made FerretDB decode every stored document in Go (a query matching nothing cost most of
#: a full read): Query and Explain also push the numeric range / `$mod` pre-filter of PREFILTER_SOURCE into SQL.
ID_COLUMN_FILE = "internal/backends/sqlite/metadata/metadata.go"
ID_COLUMN_FIX = ("IDColumn = DefaultColumn + \"->'$._id'\"", 'IDColumn = DefaultColumn + `->"_id"`')
COLLECTION_FILE = "internal/backends/sqlite/collection.go"
QUERY_PREFILTER = (
    "\n\tq += whereClause\n",
    '\n\tif whereClause == "" {\n\t\twhereClause, args = devstackPrefilter(params.Filter)\n\t}\n\n\tq += whereClause\n',
)
EXPLAIN_PREFILTER = (
    "\n\torderByClause := prepareOrderByClause(params.Sort)\n",
    '\n\tif whereClause == "" {\n\t\twhereClause, args = devstackPrefilter(params.Filter)\n'
    '\t\tfilterPushdown = whereClause != ""\n\t}\n\n\torderByClause := prepareOrderByClause(params.Sort)\n',
)
#: 4., 5. FerretDB tracks every iterator (one per document and nested document it decodes or encodes) for leak
#: reports: a pprof profile entry with its stack and a finalizer, 9% of its CPU in a full read (perf). Only in its
#: debug builds here, as the stack it reports already is.
#: 6. FerretDB decodes each stored document, its schema and every value through a fresh json.Decoder (about half its
#: CPU in a full read, perf): Unmarshal first tries FASTDECODE_SOURCE, and runs its own code whenever that declines.
RESOURCE_FILE = "internal/util/resource/resource.go"
UNTRACKED = "\n\tif !debugbuild.Enabled {\n\t\treturn\n\t}\n"
TRACK_START = "func Track(obj any, token *Token) {\n\tcheckArgs(obj, token)\n"
UNTRACK_START = "func Untrack(obj any, token *Token) {\n\tcheckArgs(obj, token)\n"
SJSON_FILE = "internal/handler/sjson/sjson.go"
UNMARSHAL_START = "func Unmarshal(data []byte) (*types.Document, error) {\n"
FAST_UNMARSHAL = "\tif doc, handled, err := devstackFastUnmarshal(data); handled {\n\t\treturn doc, err\n\t}\n\n"
#: 7., 8. find with no projection still projected every document (a third of FerretDB's CPU in a full read, perf):
#: PROJECTION_SOURCE projects the commonest two, none and {_id: 0}, on the document itself; an exclusion projection
#: works on its one private copy instead of copying that again.
PROJECTION_ITERATOR_FILE = "internal/handler/common/projection_iterator.go"
PROJECT_START = "\tprojected, err := ProjectDocument(doc, iter.projection, iter.filter, iter.inclusion)\n"
IN_PLACE = (
    "\tif projected, done := devstackProjectInPlace(doc, iter.projection, iter.inclusion); done {\n"
    "\t\treturn unused, projected, nil\n\t}\n\n"
)
PROJECTION_FILE = "internal/handler/common/projection.go"
EXCLUSION_COPY = (
    "\t\tprojected = docWithoutID.DeepCopy()\n",
    "\t\tprojected = docWithoutID\n\t\tif projectionFull {\n\t\t\tprojected = docWithoutID.DeepCopy()\n\t\t}\n",
)
SOURCE_PATCHES = (
    (ID_COLUMN_FILE, *ID_COLUMN_FIX),
    (COLLECTION_FILE, *QUERY_PREFILTER),
    (COLLECTION_FILE, *EXPLAIN_PREFILTER),
    (RESOURCE_FILE, TRACK_START, TRACK_START + UNTRACKED),
    (RESOURCE_FILE, UNTRACK_START, UNTRACK_START + UNTRACKED),
    (SJSON_FILE, UNMARSHAL_START, UNMARSHAL_START + FAST_UNMARSHAL),
    (PROJECTION_ITERATOR_FILE, PROJECT_START, IN_PLACE + PROJECT_START),
    (PROJECTION_FILE, *EXCLUSION_COPY),
)
#: files of ours added to FerretDB's packages (the `_` keeps the go tool from building their folder alone)
PREFILTER_SOURCE = "_patch/prefilter.go"
PREFILTER_TARGET = "internal/backends/sqlite/devstack_prefilter.go"
FASTDECODE_SOURCE = "_patch/fastdecode.go"
FASTDECODE_TARGET = "internal/handler/sjson/devstack_fastdecode.go"
PROJECTION_SOURCE = "_patch/projection.go"
PROJECTION_TARGET = "internal/handler/common/devstack_projection.go"
ADDED_FILES = (
    (PREFILTER_SOURCE, PREFILTER_TARGET),
    (FASTDECODE_SOURCE, FASTDECODE_TARGET),
    (PROJECTION_SOURCE, PROJECTION_TARGET),
)

WIRE_MODULE = "github.com/FerretDB/wire"
#: In FerretDB's wire module (v0.0.7, pinned by go.mod as FerretDB's requirement), likewise:
#: 1. FerretDB sets wire.CheckNaNs, so every document of every message it reads was fully decoded only to look for a
#: NaN: check first tries WIRECHECK_SOURCE's allocation-free scan of the raw BSON, and runs its own code whenever that
#: declines (a NaN included, so the error is its own).
#: 2. wire's debug build checked every reply again as FerretDB wrote it: FerretDB built the reply, and SetSections
#: checked it. Together a large share of FerretDB's CPU in a full read (perf). DEVSTACK_FERRETDB_WIRECHECK=full: as
#: before, to compare.
OP_MSG_FILE = "op_msg.go"
CHECK_START = "func (msg *OpMsg) check() error {\n"
SCANNED_CLEAN = "\tif devstackScannedClean(msg) {\n\t\treturn nil\n\t}\n\n"
REPLY_CHECK = "\tif debugbuild {\n\t\tif err := msg.check(); err != nil {\n\t\t\treturn nil, lazyerrors.Error(err)\n"
REPLY_CHECK_FULL_ONLY = REPLY_CHECK.replace("if debugbuild {", "if debugbuild && devstackWireCheckFull {", 1)
WIRE_PATCHES = (
    (OP_MSG_FILE, CHECK_START, CHECK_START + SCANNED_CLEAN),
    (OP_MSG_FILE, REPLY_CHECK, REPLY_CHECK_FULL_ONLY),
)
WIRECHECK_SOURCE = "_patch/wirecheck.go"
WIRE_ADDED_FILES = ((WIRECHECK_SOURCE, "devstack_wirecheck.go"),)


class PatchedModule(NamedTuple):
    """A required module built from a patched copy: text replacements (file, old, new), each checked to occur exactly
    once, and files of ours (source under the service's folder, target in the module)."""

    path: str
    replacements: tuple[tuple[str, str, str], ...]
    added_files: tuple[tuple[str, str], ...]


PATCHED_MODULES = (
    PatchedModule(MODULE, SOURCE_PATCHES, ADDED_FILES),
    PatchedModule(WIRE_MODULE, WIRE_PATCHES, WIRE_ADDED_FILES),
)

#: Go's collector at 1000% instead of 100%: FerretDB allocates per decoded document, and its collector took a large
#: share of a full read's CPU; fewer collections trade memory for time, and the soft memory limit makes it collect
#: harder before a big load's batches take more.
GOGC = "1000"
GOMEMLIMIT = "1GiB"


class FerretDB(GoService):
    name = "ferretdb"
    source_dir = GO_DIR / "ferretdb"
    binary_name = "ferretdb"
    stamp_files = (
        "go.mod",
        "go.sum",
        "main.go",
        PREFILTER_SOURCE,
        FASTDECODE_SOURCE,
        PROJECTION_SOURCE,
        WIRECHECK_SOURCE,
    )
    port_names = ("ferretdb",)
    description = "MongoDB wire protocol (FerretDB v1, SQLite)"
    start_timeout = 30.0

    def build_patches(self) -> list[str]:
        return [
            f"{module.path}/{file}: {old!r} -> {new!r}"
            for module in PATCHED_MODULES
            for file, old, new in module.replacements
        ]

    def build_args(self, scratch: Path, env: dict[str, str]) -> list[str]:
        """Build against patched copies of the pinned modules: `-modfile` names a copy of go.mod whose `replace`
        lines point at them (go build refuses overlays of files in the module cache)."""
        replaces = [f"replace {module.path} => {self.patched_copy(module, scratch, env)}" for module in PATCHED_MODULES]
        for name in ("go.mod", "go.sum"):
            shutil.copy(self.source_dir / name, scratch / name)
        modfile = scratch / "go.mod"
        modfile.chmod(0o644)
        modfile.write_text(modfile.read_text() + "\n" + "".join(f"{line}\n" for line in replaces))
        return ["-modfile", str(modfile)]

    def patched_copy(self, module: PatchedModule, scratch: Path, env: dict[str, str]) -> Path:
        """A copy of the pinned version of module under scratch, with its replacements made and our files added."""
        listed = subprocess.run(
            f"go mod download {module.path} && go list -m -f '{{{{.Dir}}}}' {module.path}", shell=True,
            cwd=self.source_dir, env=env, capture_output=True, text=True, timeout=self.build_timeout,
        )  # fmt: skip
        if listed.returncode != 0 or not listed.stdout.strip():
            where = f"`go mod download` / `go list -m` in {self.source_dir}"
            raise ServiceError(f"{self.name}: cannot locate {module.path} ({where}):\n{listed.stderr}")
        copy = scratch / module.path.replace("/", "_")
        shutil.copytree(listed.stdout.strip(), copy)
        for file, old, new in module.replacements:
            target = copy / file
            text = target.read_text()
            if text.count(old) != 1:
                raise ServiceError(f"{self.name}: {file} of {module.path} no longer holds {old!r} once")
            target.chmod(0o644)
            target.write_text(text.replace(old, new))
        for ours, placed in module.added_files:
            (copy / placed).parent.chmod(0o755)
            shutil.copy(self.source_dir / ours, copy / placed)
        return copy

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

    def env(self) -> dict[str, str]:
        return {"GOGC": GOGC, "GOMEMLIMIT": GOMEMLIMIT}

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
