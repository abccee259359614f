"""Where this checkout's Pulumi stacks live: the project-local file backend, its passphrase and the CLI.

The stack runner (`python -m stacks`) writes stacks there; consumers read their outputs from there
(`--stack NAME`). Everything is set here, nothing by hand: the CLI built by `tools/pulumi/build.sh`
(`make setup`) in tools/bin/, a file backend in `.pulumi/` (git-ignored), the passphrase secrets provider
(PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE if set, else a random passphrase generated once
into `.pulumi/passphrase`, mode 0600), no update checks and no plugin downloads.

A user who keeps stacks elsewhere (Pulumi Cloud, an S3 backend) sets PULUMI_BACKEND_URL: then the `pulumi`
on PATH is used as it is, with the user's own login and secrets provider.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: the checkout (pyproject.toml beside the package), else the working directory
ROOT = PACKAGE_DIR.parent if (PACKAGE_DIR.parent / "pyproject.toml").exists() else Path.cwd()
TOOLS_ROOT = ROOT / "tools"  # the CLI is <root>/bin/pulumi
PULUMI_BIN = TOOLS_ROOT / "bin" / "pulumi"
STATE_DIR = Path(os.environ.get("KDE_PULUMI_STATE_DIR") or ROOT / ".pulumi")


class BackendError(RuntimeError):
    """No Pulumi CLI to run, or the backend cannot be used."""


def uses_own_backend() -> bool:
    """True when the user chose a backend (PULUMI_BACKEND_URL): then we touch none of our defaults."""
    return bool(os.environ.get("PULUMI_BACKEND_URL"))


def pulumi_executable() -> str:
    """The CLI `make setup` built, else the `pulumi` on PATH."""
    if PULUMI_BIN.exists():
        return str(PULUMI_BIN)
    found = shutil.which("pulumi")
    if found is None:
        raise BackendError(f"no Pulumi CLI: {PULUMI_BIN} is missing (run `make setup`) and none is on PATH")
    return found


def engine_env(state_dir: Path | None = None) -> dict[str, str]:
    """Environment of every `pulumi` process: the local file backend, passphrase secrets, our bin first."""
    env = {
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        # the engine finds pulumi-resource-pulumi-python (dynamic providers) next to itself or on PATH
        "PATH": f"{PULUMI_BIN.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if uses_own_backend() and state_dir is None:
        return env
    state = (state_dir or STATE_DIR).resolve()
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    env["PULUMI_BACKEND_URL"] = state.as_uri()
    env["PULUMI_HOME"] = str(state / "home")
    if not (os.environ.get("PULUMI_CONFIG_PASSPHRASE") or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
        env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(passphrase_file(state))
    return env


def passphrase_file(state: Path) -> Path:
    """The backend's passphrase, generated once (0600): secrets in the state are encrypted with it."""
    path = state / "passphrase"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path


def state_file(stack: str, project: str, state_dir: Path | None = None) -> Path:
    """A stack's checkpoint JSON in the file backend."""
    return (state_dir or STATE_DIR) / ".pulumi" / "stacks" / project / f"{stack}.json"
