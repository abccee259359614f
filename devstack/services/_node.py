"""Services whose server is a Node program with the npm packages its package.json pins exactly (direct and, through
`overrides`, transitive; no lock file is kept). install() copies the app's files into install/<service>/app and runs
`npm install` there, in a temporary folder that replaces app/ only when it succeeded and the library loads; a stamp
of the app's files triggers a reinstall when they change."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import ClassVar

from devstack.service import Service, ServiceError

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
NPM_INSTALL = ("install", "--no-package-lock", "--no-audit", "--no-fund", "--ignore-scripts", "--omit=dev")


class NodeService(Service):
    #: folder holding the app (package.json and any script it runs)
    source_dir: ClassVar[Path]
    app_files: ClassVar[tuple[str, ...]] = ("package.json",)
    #: the npm package the app runs; `require`d after the install, so a missing native binding fails the install
    library: ClassVar[str]

    @property
    def app_dir(self) -> Path:
        return self.install_dir / "app"

    @property
    def stamp_file(self) -> Path:
        return self.app_dir / "source.stamp"

    def source_stamp(self) -> str:
        return "\n".join((self.source_dir / f).read_text() for f in self.app_files)

    def node(self) -> str:
        node = shutil.which("node")
        if not node:
            raise ServiceError(f"{self.name}: `node` is not on PATH; install Node 20+")
        return node

    def is_installed(self) -> bool:
        library = self.app_dir / "node_modules" / self.library / "package.json"
        return library.exists() and self.stamp_file.exists() and self.stamp_file.read_text() == self.source_stamp()

    def install(self) -> None:
        node, npm = self.node(), shutil.which("npm")
        if not npm:
            raise ServiceError(f"{self.name}: `npm` is needed (Node 20+) to install {self.source_dir / 'package.json'}")
        self.install_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".app-", dir=self.install_dir))
        try:
            for f in self.app_files:
                shutil.copy2(self.source_dir / f, tmp / f)
            self._run(tmp, [npm, *NPM_INSTALL], f"`npm install` of {self.source_dir / 'package.json'}")
            self._run(tmp, [node, "-e", f"require({self.library!r})"], f"loading {self.library} after `npm install`")
            (tmp / "source.stamp").write_text(self.source_stamp())
            if self.app_dir.exists():
                shutil.rmtree(self.app_dir)
            tmp.rename(self.app_dir)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def _run(self, cwd: Path, command: list[str], what: str) -> None:
        proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise ServiceError(f"{self.name}: {what} failed in {cwd}:\n{proc.stdout}{proc.stderr}")
