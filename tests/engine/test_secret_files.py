"""The files that hold this checkout's secrets are its owner's alone (mode 0600): the passphrase the file backend
generates (it decrypts every secret in the state) and the outputs `python -m stacks outputs --file` writes (they
hold the stack's credentials), even where the file was there before with a wider mode."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from contract.backend import ROOT


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_generated_passphrase_and_the_outputs_file_are_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    outputs = tmp_path / "outputs.json"
    outputs.write_text("a file someone left readable\n")
    outputs.chmod(0o644)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_CONFIG_PASSPHRASE")}
    env["KDE_PULUMI_STATE_DIR"] = str(state)  # a backend of its own: the passphrase is generated there
    command = [sys.executable, "-m", "stacks", "outputs", "--stack", "devstack", "--file", str(outputs)]

    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)

    assert run.returncode == 0, run.stderr
    assert mode(state / "passphrase") == 0o600
    assert mode(outputs) == 0o600
    assert outputs.read_text() == "{}\n"  # the stack was never up: no outputs, and the old text is gone
