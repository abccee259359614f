"""S3: the Versity S3 Gateway (versitygw) with its POSIX backend, holding the emulated account's buckets
(devstack.account: on the cloud stacks pulumi-aws declares them; here devstack owns them, same names).

What runs: versitygw (Go module github.com/versity/versitygw, Apache-2.0), pinned by the tools module in
devstack/go/s3/ (go.mod + go.sum) and built with `go build` into install/s3/bin (a few minutes once, cached).
Data on disk: run/s3/data/ is the gateway's root; each bucket is a folder and each object a file named by its key
(`a/b/c.json` is the file `<bucket>/a/b/c.json`), its ETag and x-amz-meta-* metadata in the file's extended
attributes (user.*), so the filesystem must support them (ext4, xfs, btrfs do). An object is written to a
temporary file and moved into place before PutObject or CompleteMultipartUpload answers: an acknowledged object
survives `devstack down`/`up` and a kill -9; a multipart upload's parts survive too, until completed or aborted.
Requests are signed (SigV4) with the account's keys; path-style addressing. Because keys are paths, an object
`a/b` and an object `a/b/c` cannot both exist (S3 allows it; nothing here writes such pairs).
Clients: boto3 / AWS SDKs with `endpoint_url` = `endpoints.s3` of the outputs.
"""

from __future__ import annotations

from typing import Any

from devstack import account, process
from devstack.services import _aws
from devstack.services._go import GO_DIR, GoService

MODULE = "github.com/versity/versitygw/cmd/versitygw"


class S3Gateway(GoService):
    name = "s3"
    source_dir = GO_DIR / "s3"
    build_target = MODULE
    binary_name = "versitygw"
    #: the port key keeps moto's name (and 15000) until every caller says "s3": DEVSTACK_PORT_MOTO moves it
    port_names = ("moto",)
    description = "S3 API (versitygw, POSIX backend on disk)"
    start_timeout = 30.0

    @property
    def url(self) -> str:
        return f"http://{self.cfg.host}:{self.port}"

    def _stop_legacy_moto(self) -> bool:
        """Stop the in-memory moto server an earlier devstack started on this port (its PID file in run/moto/),
        so `make up` or `make down` after an upgrade does not trip over it."""
        pid_file = self.cfg.run_dir("moto") / "pid"
        pid = process.read_pid(pid_file)
        stopped = False
        if pid is not None and "moto.server" in process.command_line(pid):  # not a reused pid's process
            process.stop_pid(pid)
            stopped = True
        pid_file.unlink(missing_ok=True)
        return stopped

    def start(self) -> None:
        self._stop_legacy_moto()
        super().start()

    def stop(self) -> bool:
        return self._stop_legacy_moto() | super().stop()

    def command(self) -> list[str]:
        creds = account.FAKE_AWS_CREDENTIALS
        return [
            str(self.binary),
            "--port",
            f"{self.cfg.host}:{self.port}",
            "--access",
            creds["access_key_id"],
            "--secret",
            creds["secret_access_key"],
            "--region",
            account.AWS_REGION,
            "--quiet",  # no line per request in the log
            "posix",
            str(self.data_dir),
        ]

    def ready(self) -> bool:
        _aws.client("s3", self.url).list_buckets()
        return True

    def published(self) -> dict[str, Any]:
        return {**_aws.published("s3", self.url), "s3_buckets": account.s3_buckets()}

    def provision(self) -> None:
        s3 = _aws.client("s3", self.url)
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        for bucket in account.s3_buckets().values():
            if bucket not in existing:
                s3.create_bucket(Bucket=bucket)
