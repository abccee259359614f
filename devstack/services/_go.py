"""Services whose server is a Go program built from a pinned module in the repo (go.mod + go.sum), with
`go build` into install/<service>/bin. The build goes to a temporary folder that replaces bin/ only when it
succeeded, and a stamp of the pinned sources triggers a rebuild when they change."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import ClassVar

from devstack.service import Service, ServiceError

GO_DIR = Path(__file__).resolve().parent.parent / "go"


class GoService(Service):
    #: folder holding the module to build (go.mod, go.sum, maybe main.go)
    source_dir: ClassVar[Path]
    #: what `go build` builds: "." or a package path of a required module
    build_target: ClassVar[str] = "."
    binary_name: ClassVar[str]
    stamp_files: ClassVar[tuple[str, ...]] = ("go.mod", "go.sum")
    build_timeout: ClassVar[float] = 900.0

    @property
    def binary(self) -> Path:
        return self.install_dir / "bin" / self.binary_name

    @property
    def stamp_file(self) -> Path:
        return self.install_dir / "bin" / "source.stamp"

    def source_stamp(self) -> str:
        return "\n".join([*((self.source_dir / f).read_text() for f in self.stamp_files), *self.build_patches()])

    def build_patches(self) -> list[str]:
        """Descriptions of what `build_args` changes in the pinned sources; part of the stamp."""
        return []

    def build_args(self, scratch: Path, env: dict[str, str]) -> list[str]:
        """Extra `go build` arguments; `scratch` is a folder that lives until the build ends."""
        return []

    def is_installed(self) -> bool:
        return self.binary.exists() and self.stamp_file.exists() and self.stamp_file.read_text() == self.source_stamp()

    def install(self) -> None:
        go = shutil.which("go")
        if not go:
            raise ServiceError(f"{self.name}: no `go` toolchain on PATH; install Go 1.26+ to build {self.source_dir}")
        self.install_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bin-", dir=self.install_dir))
        try:
            # GOTOOLCHAIN=local: fail with a clear version error instead of fetching another toolchain
            env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly", "GOTOOLCHAIN": "local"}
            extra = self.build_args(tmp, env)
            proc = subprocess.run(
                [go, "build", "-trimpath", *extra, "-o", str(tmp / self.binary_name), self.build_target],
                cwd=self.source_dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=self.build_timeout,
            )
            if proc.returncode != 0:
                what = f"`go build {self.build_target}` in {self.source_dir}"
                raise ServiceError(f"{self.name}: {what} failed:\n{proc.stdout}{proc.stderr}")
            for leftover in tmp.iterdir():
                if leftover.name != self.binary_name:
                    shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
            (tmp / "source.stamp").write_text(self.source_stamp())
            final = self.install_dir / "bin"
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
