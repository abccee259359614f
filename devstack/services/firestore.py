"""Firestore emulator: the npm library @firestore-emulator/server (gRPC) on the loopback address, its state on disk.

What runs: devstack/node/firestore/server.js under Node, with the packages its package.json pins exactly
(direct and, through `overrides`, transitive; no lock file is kept). install() copies the app's files into
install/firestore/app and runs `npm install` there. Clients: google-cloud-firestore with
`FIRESTORE_EMULATOR_HOST=127.0.0.1:<port>` (no scheme). server.js replaces the library's document lookup, which
copied the collection for every new document (loads went quadratic).

Durability (the library keeps everything in memory): server.js replaces the Commit RPC, the only one that writes,
with the library's own commit plus a journal: each commit's request is appended to run/firestore/data/journal-*.log
and fdatasync'ed before the RPC answers, so an acknowledged write survives `devstack down`/`up` and a kill -9.
At start the server loads data/snapshot.bin (one JSON record per document with its create and update times) and
replays the journal after it (a record torn by a kill is cut off: its commit never answered). The server compacts
(a new snapshot: temporary file, fsync, rename; then a fresh journal, the old one deleted) at a graceful stop, and at
start or after a commit once the journal is past half the snapshot's size (and 4 MB), so only a start after a kill
replays, and never much. On disk: the snapshot is about the size of the documents as JSON, the journal at most about
half of it or 4 MB (formats in devstack/node/firestore/).
Start time grows with the data: the snapshot is read into memory, the journal replayed through the library (far
slower a document than the snapshot), and a compaction pauses the server while it writes the snapshot.

Works: batched commits (up to 500 writes), get/get_all, ==/in/OR/compound queries, order_by + limit, count(),
update, delete, transactions, server timestamps, collection_group. Errors: filters on nested fields,
list_documents(), collections(), the GetDocument RPC (DocumentReference.get() uses BatchGetDocuments,
which works).
Silently wrong: BulkWriter writes nothing, select() projections and start_after cursors are ignored.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from devstack import account
from devstack.service import Service, ServiceError

SOURCE_DIR = Path(__file__).resolve().parent.parent / "node" / "firestore"
APP_FILES = ("package.json", "server.js", "journal.js", "fields.js")
#: the library the app runs; checked after npm install so a broken install is caught at install time
LIBRARY = "@firestore-emulator/server"
#: any project id works for the emulator; the readiness probe asks for a document that does not exist
PROBE_PROJECT = "devstack-probe"
PROBE_DOCUMENT = "_devstack/ready"


class FirestoreEmulator(Service):
    name = "firestore"
    port_names = ("firestore",)
    description = "Firestore gRPC API (@firestore-emulator/server on Node, journaled to disk)"
    #: the start replays the data on disk first; a large data set takes longer than an empty one
    start_timeout = 120.0

    @property
    def app_dir(self) -> Path:
        return self.install_dir / "app"

    @property
    def stamp_file(self) -> Path:
        return self.app_dir / "source.stamp"

    @staticmethod
    def _source_stamp() -> str:
        return "\n".join((SOURCE_DIR / f).read_text() for f in APP_FILES)

    def is_installed(self) -> bool:
        library = self.app_dir / "node_modules" / LIBRARY / "package.json"
        return library.exists() and self.stamp_file.exists() and self.stamp_file.read_text() == self._source_stamp()

    def install(self) -> None:
        node, npm = shutil.which("node"), shutil.which("npm")
        if not node or not npm:
            raise ServiceError("firestore: `node` and `npm` are needed (Node 20+) to install the Firestore emulator")
        self.install_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".app-", dir=self.install_dir))
        try:
            for f in APP_FILES:
                shutil.copy2(SOURCE_DIR / f, tmp / f)
            proc = subprocess.run(
                [npm, "install", "--no-package-lock", "--no-audit", "--no-fund", "--ignore-scripts", "--omit=dev"],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if proc.returncode != 0:
                raise ServiceError(
                    f"firestore: `npm install` of {SOURCE_DIR / 'package.json'} failed:\n{proc.stdout}{proc.stderr}"
                )
            if not (tmp / "node_modules" / LIBRARY / "package.json").exists():
                raise ServiceError(f"firestore: `npm install` finished but {LIBRARY} is missing under {tmp}")
            (tmp / "source.stamp").write_text(self._source_stamp())
            if self.app_dir.exists():
                shutil.rmtree(self.app_dir)
            tmp.rename(self.app_dir)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def command(self) -> list[str]:
        node = shutil.which("node")
        if not node:
            raise ServiceError("firestore: `node` is not on PATH; install Node 20+")
        return [node, str(self.app_dir / "server.js"), str(self.port), self.cfg.host, str(self.data_dir)]

    def ready(self) -> bool:
        """A BatchGetDocuments round trip (what DocumentReference.get() uses) answers `missing` for the probe."""
        import grpc
        from google.cloud.firestore_v1.services.firestore import FirestoreClient
        from google.cloud.firestore_v1.services.firestore.transports import FirestoreGrpcTransport

        database = f"projects/{PROBE_PROJECT}/databases/(default)"
        name = f"{database}/documents/{PROBE_DOCUMENT}"
        with grpc.insecure_channel(f"{self.cfg.host}:{self.port}") as channel:
            client = FirestoreClient(transport=FirestoreGrpcTransport(channel=channel))
            replies = client.batch_get_documents(
                request={"database": database, "documents": [name]}, timeout=2, retry=None
            )
            return [r.missing for r in replies] == [name]

    def published(self) -> dict[str, Any]:
        # FIRESTORE_EMULATOR_HOST form: host:port, no scheme
        return {
            "endpoints": {"firestore": f"{self.cfg.host}:{self.port}"},
            "firestore_database": account.FIRESTORE_DATABASE,
        }
