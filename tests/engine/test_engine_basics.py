"""The built CLI runs an inline program with a dynamic provider through the whole lifecycle:
up, no-op preview, update in place, drift on refresh, secrets encrypted in the state file, destroy."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pulumi
from _file_provider import TextFile
from pulumi import automation as auto

from contract.backend import PULUMI_BIN, state_file

SECRET = "s3cr3t-value-that-must-not-leak"


def test_cli_reports_the_pinned_version() -> None:
    import importlib.metadata

    out = subprocess.run([str(PULUMI_BIN), "version"], check=True, capture_output=True, text=True).stdout
    assert out.strip() == f"v{importlib.metadata.version('pulumi')}"


def test_dynamic_resource_lifecycle(tmp_path: Path, engine_stack: Callable[..., auto.Stack]) -> None:
    target = tmp_path / "hello.txt"
    content = {"value": "hello"}

    def program() -> None:
        f = TextFile("hello", str(target), content["value"], pulumi.Output.secret(SECRET))
        pulumi.export("content", f.content)

    stack = engine_stack(program)
    up = stack.up()
    assert up.summary.resource_changes == {"create": 2}
    assert target.read_text() == "hello" + SECRET
    assert up.outputs["content"].value == "hello"

    assert stack.preview().change_summary == {"same": 2}

    state = state_file("test", "engine-test", tmp_path / ".state").read_text()
    assert json.loads(state)["checkpoint"]["latest"]["resources"]
    assert SECRET not in state, "a secret input is in plaintext in the state file"

    content["value"] = "hello again"
    assert stack.up().summary.resource_changes == {"update": 1, "same": 1}
    assert target.read_text() == "hello again" + SECRET

    target.write_text("edited behind Pulumi's back" + SECRET)
    refresh = stack.refresh()
    assert refresh.summary.resource_changes == {"update": 1, "same": 1}
    assert stack.preview().change_summary == {"update": 1, "same": 1}
    stack.up()
    assert target.read_text() == "hello again" + SECRET

    assert stack.destroy().summary.resource_changes == {"delete": 2}
    assert not target.exists()
